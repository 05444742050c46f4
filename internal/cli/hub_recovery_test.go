package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// recoveryApp is app.json naming app, with the demo app's page on
// httpPort (a JSON value: a number, or a bad one) and home on homePort.
func recoveryApp(app string, httpPort any, homePort int) string {
	return fmt.Sprintf(`{
    "app": %q,
    "echoserver": {"listen_addr": "127.0.0.1", "listen_port": 7777},
    "demo": {
        "http": {"ip": "127.0.0.1", "port": %v},
        "websocket": {"ip": "127.0.0.1", "port": %v},
        "home": {"ip": "127.0.0.1", "port": %d}
    }
}
`, app, httpPort, httpPort, homePort)
}

// TestHubRecoveryInBrowser: a real device with an unknown app falls into
// recovery and calls home; in Chromium the dashboard marks it in recovery
// with its reason, and it is repaired through /d/<id>/ on the hub alone
// (e2e/hub-recovery.mjs): a bad app.json refused with its location, a good
// one saved, restart, the demo app back. Then nothing of recovery is left
// in the hub's /api/devices/<id>. And a page open through the hub follows
// its device back into recovery (e2e/hub-falls-recovery.mjs).
func TestHubRecoveryInBrowser(t *testing.T) {
	h := startHubProc(t)
	dir := t.TempDir()
	root := hubDeviceRoot(t, h.devPort, "")
	httpPort := tethertest.FreePort(t)
	files := map[string]string{
		filepath.Join(root, "app.json"):   recoveryApp("nosuchapp", httpPort, h.devPort),
		filepath.Join(dir, "broken.json"): recoveryApp("demo", `"eighty"`, h.devPort),
		filepath.Join(dir, "good.json"):   recoveryApp("demo", httpPort, h.devPort),
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	h.WaitOutput("device connected", 20*time.Second)
	// The device's state object follows its connection: wait for it.
	var code int
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, body = h.get(t, "/api/devices/Device_1"); strings.Contains(body, `"recovery": true`) {
			break
		}
	}
	if code != 200 || !strings.Contains(body, `"recovery": true`) || !strings.Contains(body, `unknown app \"nosuchapp\"`) {
		t.Fatalf("/api/devices/Device_1 of a device in recovery: %d %s", code, body)
	}

	shots := filepath.Join(dir, "hub-recovery")
	out := tethertest.Browser(t, "hub-recovery.mjs", fmt.Sprintf("http://127.0.0.1:%d/", h.pagePort),
		shots, "Device_1", filepath.Join(dir, "broken.json"), filepath.Join(dir, "good.json"))
	if !strings.Contains(out, "hub recovery flow ok") {
		t.Fatalf("browser: %s", out)
	}
	dev.WaitOutput(`starting app \"demo\"`, 5*time.Second)
	_, body = h.get(t, "/api/devices/Device_1")
	var d map[string]any
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("/api/devices/Device_1: %v\n%s", err, body)
	}
	if d["app"] != "demo" || d["online"] != true {
		t.Errorf("after the repair: got %s", body)
	}
	for k := range d {
		if strings.HasPrefix(k, "recovery") {
			t.Errorf("after the repair /api/devices/Device_1 still has %q: %s", k, body)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "app.json")); !strings.Contains(string(b), `"app": "demo"`) {
		t.Errorf("app.json after the repair:\n%s", b)
	}

	// And back: app.json broken behind the running demo's back, a page open
	// through the hub restarts the device, which falls into recovery; the
	// same tab becomes the recovery page.
	if err := os.WriteFile(filepath.Join(root, "app.json"), []byte(recoveryApp("nosuchapp", httpPort, h.devPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	out = tethertest.Browser(t, "hub-falls-recovery.mjs", fmt.Sprintf("http://127.0.0.1:%d/d/Device_1/", h.pagePort),
		filepath.Join(dir, "hub-falls-recovery.png"))
	if !strings.Contains(out, "page followed its device into recovery") {
		t.Fatalf("browser: %s", out)
	}
}
