package bench

import (
	"encoding/json"
	"time"
)

// idleState is the state object idle connection i (device id) sends with
// IdleOptions.State: made up, but shaped like a real device's (see the
// command protocol's state object and sys/ keys, one in seven with a
// failed app), and different for each device so that sorting by any
// column means something.
func idleState(id string, i int) []byte {
	const gib = 1 << 30
	total, disk := float64((1+i%4)*gib), float64((8<<(i%3))*int64(gib))
	m := map[string]any{
		"iam":               id,
		"dev":               "bench",
		"app":               "idle",
		"version":           "bench",
		"sys/uptime":        600 + (i*7919)%(30*86400),
		"sys/load":          []float64{float64(i%23) / 10, float64(i%17) / 10, float64(i%13) / 10},
		"sys/mem/total":     total,
		"sys/mem/available": total * float64(10+(i*37)%80) / 100,
		"sys/disk/total":    disk,
		"sys/disk/free":     disk * float64(5+(i*53)%90) / 100,
		"sys/temp":          38 + float64((i*13)%300)/10,
		"sys/wifi/signal":   30 + (i*29)%66,
		"sys/app/restarts":  0,
	}
	if i%7 == 3 { // one in seven had its app fail
		m["sys/app/restarts"] = 1 + i%3
		m["sys/app/last_failure"] = "program idle exited with status 1; the last lines of its standard error: … OSError: [Errno 5] sensor gone"
		m["sys/app/last_failure/time"] = time.Now().Unix() - int64(60+(i*97)%86400)
	}
	b, _ := json.Marshal(m)
	return b
}
