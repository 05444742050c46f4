package bench

import "encoding/json"

// idleState is the state object idle connection i (device id) sends with
// IdleOptions.State: made up, but shaped like a real device's (see the
// command protocol's state object and sys/ keys), and different for each
// device so that sorting by any column means something.
func idleState(id string, i int) []byte {
	const gib = 1 << 30
	total := float64((1 + i%4) * gib)
	b, _ := json.Marshal(map[string]any{
		"iam":               id,
		"dev":               "bench",
		"app":               "idle",
		"version":           "bench",
		"sys/uptime":        600 + (i*7919)%(30*86400),
		"sys/load":          []float64{float64(i%23) / 10, float64(i%17) / 10, float64(i%13) / 10},
		"sys/mem/total":     total,
		"sys/mem/available": total * float64(10+(i*37)%80) / 100,
		"sys/temp":          38 + float64((i*13)%300)/10,
	})
	return b
}
