package hub

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// counterValue reads one series from the hub's /metrics.
func counterValue(t *testing.T, h *testHub, series string) float64 {
	t.Helper()
	_, body := get(t, h.httpURL+"/metrics", h.authHeader())
	re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " (\\S+)$")
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestAPIAndMetrics(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	p := dial(t, h.pageURL+"dev1", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
	dev.Send(`{"k": "v"}`)
	p.ExpectExact(`{"k": "v"}`)
	p.Send(`["GET", "wifi", []]`)
	dev.ExpectExact(`["GET", "wifi", []]`)

	code, body := get(t, h.httpURL+"/api/devices", nil)
	var list []DeviceInfo
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 {
		t.Fatalf("/api/devices: %d %s", code, body)
	}
	if d := list[0]; d.ID != "dev1" || !d.Online || d.MsgsIn != 1 || d.MsgsOut != 1 || d.Pages != 1 {
		t.Errorf("/api/devices: got %+v", d)
	}
	tests := []struct {
		path string
		code int
		has  string
	}{
		{"/", 200, "<html"},
		{"/d/dev1/", 200, "app.js"},
		{"/d/dev1/app.js", 200, "wsURL"},
		{"/d/dev1/nothing.js", 404, ""},
		{"/d/dev1/sub/app.js", 404, ""},
		{"/d/.bad/", 400, ""},
		{"/api/devices/nobody", 404, `"error"`},
		{"/api/hub", 200, `"open": true`},
		{"/healthz", 200, "ok"},
		{"/static/dashboard.js", 200, "/api/devices"},
		{"/metrics", 200, `tether_hub_messages_relayed_total{direction="device>pages"} 1`},
		{"/metrics", 200, `tether_hub_connections{role="device"} 1`},
		{"/metrics", 200, `tether_hub_bytes_relayed_total{direction="page>device"} 19`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, h.httpURL+tt.path, nil)
			if code != tt.code || !strings.Contains(body, tt.has) {
				t.Errorf("GET %s: got %d, want %d with %q:\n%.400s", tt.path, code, tt.code, tt.has, body)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{
		"Device_1": true, "a": true, "TS001": true, "a.b-c_d": true, strings.Repeat("x", 64): true,
		"": false, ".a": false, "a b": false, "a/b": false, "é": false, strings.Repeat("x", 65): false, "a?b": false,
	} {
		if err := ValidID(id); (err == nil) != ok {
			t.Errorf("ValidID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
