package hub

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// do sends a request with method and headers and returns the status and body.
func do(t *testing.T, method, url string, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiDevice fetches /api/devices/<id> as a map.
func apiDevice(t *testing.T, h *testHub, id string) map[string]any {
	t.Helper()
	code, body := get(t, h.httpURL+"/api/devices/"+id, nil)
	var m map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("/api/devices/%s: %d %s", id, code, body)
	}
	return m
}

// TestRecoveryThroughHub: a device whose state says it is in recovery is
// marked so in the API, with its reason, and /d/<id>/ is the recovery page;
// once its state names its app again nothing of recovery is left in the
// API and /d/<id>/ is the device's page, with a link to the dashboard.
func TestRecoveryThroughHub(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	p := dial(t, h.pageURL+"dev1", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
	dev.Send(`{"iam": "dev1", "recovery": true, "recovery/reason": "unknown app \"<b>x</b>\"", "app": "recovery", "version": "v1.2", "wifi/mode": "ap", "sys/uptime": 42, "sys/load": [0.5, 0.25, 0.1]}`)
	p.Expect("state", hasKey("recovery", true))

	d := apiDevice(t, h, "dev1")
	if d["recovery"] != true || d["recovery_reason"] != `unknown app "<b>x</b>"` || d["app"] != "recovery" || d["version"] != "v1.2" {
		t.Errorf("device in recovery: got %v", d)
	}
	if sys, _ := d["sys"].(map[string]any); sys["uptime"] != 42.0 || len(sys["load"].([]any)) != 3 {
		t.Errorf("sys: got %v", d["sys"])
	}
	for _, k := range []string{"last_seen", "shadow_updated", "shadow_age_s"} {
		if _, ok := d[k]; !ok {
			t.Errorf("no %s in %v", k, d)
		}
	}
	code, body := get(t, h.httpURL+"/d/dev1/", nil)
	for _, want := range []string{`data-hub="1"`, "Recovery", "unknown app &#34;&lt;b&gt;x&lt;/b&gt;&#34;", `src="static/recovery.js"`, `data-file="app.json"`, `href="/"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /d/dev1/ in recovery: %d, lacks %q:\n%.600s", code, want, body)
		}
	}
	for path, want := range map[string]int{"/d/dev1/static/recovery.js": 200, "/d/dev1/static/style.css": 200, "/d/dev1/static/index.html": 404, "/d/dev1/static/nope.js": 404} {
		if code, _ := get(t, h.httpURL+path, nil); code != want {
			t.Errorf("GET %s: got %d, want %d", path, code, want)
		}
	}

	// repaired: the state names the demo app (a stale "recovery" key
	// beside it does not count)
	dev.Send(`{"iam": "dev1", "app": "demo", "version": "v1.2"}`)
	p.Expect("state", hasKey("app", "demo"))
	d = apiDevice(t, h, "dev1")
	if _, ok := d["recovery"]; ok || d["app"] != "demo" {
		t.Errorf("after the repair: got %v", d)
	}
	if _, ok := d["recovery_reason"]; ok {
		t.Errorf("after the repair a recovery reason is left: %v", d)
	}
	code, body = get(t, h.httpURL+"/d/dev1/", nil)
	if code != 200 || !strings.Contains(body, "app.js") || !strings.Contains(body, `class="hub-nav"`) || strings.Contains(body, "data-hub") {
		t.Errorf("GET /d/dev1/ after the repair: %d\n%.600s", code, body)
	}
}

func TestUnknownDevicePage(t *testing.T) {
	h := startHub(t, Options{})
	for _, path := range []string{"/d/nobody/", "/d/nobody/app.js"} {
		code, body := get(t, h.httpURL+path, nil)
		if code != 404 || !strings.Contains(body, "No device nobody") || !strings.Contains(body, `href="/"`) {
			t.Errorf("GET %s: got %d\n%.400s", path, code, body)
		}
	}
}

// TestForget: an offline device can be forgotten (it leaves the list and
// its page is a 404); an online or unknown one cannot; browsers of other
// origins may not.
func TestForget(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	waitFor(t, "dev1 online", func() bool { return len(h.Devices()) == 1 && h.Devices()[0].Online })
	url := h.httpURL + "/api/devices/dev1"
	if code, body := do(t, "DELETE", url, nil); code != http.StatusConflict || !strings.Contains(body, "only an offline device") {
		t.Errorf("forget an online device: got %d %s, want 409", code, body)
	}
	dev.Conn.CloseNow()
	waitFor(t, "dev1 offline", func() bool { return !h.Devices()[0].Online })
	if code, body := do(t, "DELETE", url, http.Header{"Origin": {"http://evil.example"}}); code != http.StatusForbidden {
		t.Errorf("forget from another origin: got %d %s, want 403", code, body)
	}
	if code, body := do(t, "DELETE", url, nil); code != 200 || !strings.Contains(body, "forgotten") {
		t.Errorf("forget an offline device: got %d %s, want 200", code, body)
	}
	if n := len(h.Devices()); n != 0 {
		t.Errorf("after forgetting, %d devices listed", n)
	}
	if code, _ := get(t, h.httpURL+"/d/dev1/", nil); code != 404 {
		t.Errorf("page of a forgotten device: got %d, want 404", code)
	}
	if code, _ := do(t, "DELETE", url, nil); code != 404 {
		t.Errorf("forget it again: got %d, want 404", code)
	}
	if code, _ := do(t, "DELETE", h.httpURL+"/api/devices/.bad", nil); code != 400 {
		t.Errorf("forget a bad id: got %d, want 400", code)
	}
}

func TestWithNav(t *testing.T) {
	for in, want := range map[string]string{
		"<html><body>x":                   "<html><body>" + hubNav + "x",
		`<body class="dark" data-a="1">x`: `<body class="dark" data-a="1">` + hubNav + "x",
		"no body":                         hubNav + "no body",
		"<body":                           hubNav + "<body",
	} {
		if got := string(withNav([]byte(in))); got != want {
			t.Errorf("withNav(%q) = %q, want %q", in, got, want)
		}
	}
}
