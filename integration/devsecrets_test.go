package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// secretsNetwork is network.json with a WiFi password and no access point
// password, so the device makes one.
const secretsNetwork = `{
    "device": {"iam": "Device_1", "dev": "ESP32"},
    "ap": {"essid": "<device AP ssid>", "authmode": 3, "password": "<device AP password>", "hidden": false},
    "sta": {"ssid": "home-net", "pass": "wifi-secret-1"}
}
`

// apPassword reads the access point password the device generated and
// kept in its root.
func apPassword(t *testing.T, root string) string {
	t.Helper()
	var st struct {
		AP string `json:"ap_password"`
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(root, "netif-state.json"))
		if err == nil && json.Unmarshal(b, &st) == nil && st.AP != "" {
			return st.AP
		}
	}
	t.Fatal("no generated access point password in netif-state.json")
	return ""
}

// TestRecoveryKeepsSecrets: a device in recovery never shows its WiFi
// password or its generated access point password on its page, in its
// status, its recent log, or what it sends the hub; the generated password
// is printed once, on the console, when it is made, and never again; a
// save through the hub that keeps the mask keeps the password; the local
// page can show the passwords on request.
func TestRecoveryKeepsSecrets(t *testing.T) {
	h := startHub(t, 0)
	httpPort := tethertest.FreePort(t)
	// "auth": "strict": this test process, the device's own user on
	// loopback, must prove access like anyone else to see a secret.
	root := tethertest.SeedRootApp(t, tethertest.StrictAuth(strings.Replace(reachApp("127.0.0.1", httpPort, h.devicePort), `"app": "demo"`, `"app": "nosuchapp"`, 1)))
	write(t, filepath.Join(root, "network.json"), secretsNetwork)
	d := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	local := addr(httpPort)
	tethertest.WaitPort(t, local, 30*time.Second)
	ap := apPassword(t, root)
	secrets := []string{"wifi-secret-1", ap}
	clean := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q:\n%.800s", where, s, text)
			}
		}
	}

	d.WaitOutput("access point up for recovery", 10*time.Second)
	if n := strings.Count(d.Output(), ap); n != 1 || !strings.Contains(d.Output(), "tether: the access point's password is "+ap) {
		t.Errorf("the console shows the generated password %d times, want once on its own line:\n%s", n, d.Output())
	}
	_, page := get(t, "http://"+local+"/", deviceAuthKV...)
	clean("the recovery page", page)
	_, status := get(t, "http://"+local+"/api/status", deviceAuthKV...)
	clean("GET /api/status (files and recent log)", status)
	if !strings.Contains(status, "access point up") || !strings.Contains(status, `********`) {
		t.Errorf("GET /api/status lacks the recent log or the mask:\n%.800s", status)
	}

	// Through the hub: what the device sends is masked; a save of the
	// masked text keeps the password.
	p := dialRaw(t, h.page, "/Device_1")
	p.waitText(`"recovery"`, 20*time.Second)
	p.sendText(`["GET", "status", []]`)
	reply := p.waitText(`"recovery/file/network.json"`, 10*time.Second)
	clean("GET status through the hub", reply)
	var m map[string]any
	if err := json.Unmarshal([]byte(reply), &m); err != nil {
		t.Fatal(err)
	}
	masked, _ := m["recovery/file/network.json"].(string)
	edit, _ := json.Marshal([]any{"CMD", "save_config", []any{"network.json", strings.Replace(masked, `"ESP32"`, `"rpi4"`, 1)}})
	p.sendText(string(edit))
	p.waitText(`"recovery/saved"`, 10*time.Second)
	if b, _ := os.ReadFile(filepath.Join(root, "network.json")); !strings.Contains(string(b), `"rpi4"`) || !strings.Contains(string(b), `"wifi-secret-1"`) {
		t.Errorf("network.json after a save through the hub:\n%s", b)
	}
	_, shadow := get(t, "http://"+h.page+"/api/devices/Device_1")
	clean("the hub's view of the device", shadow)

	// The local page may show them, on request, to someone who proved
	// access (the device password); to no one else.
	if code, body := get(t, "http://"+local+"/api/status?reveal=1", "Sec-Fetch-Site", "same-origin"); code != 401 || strings.Contains(body, "wifi-secret-1") {
		t.Errorf("reveal without the device password: %d %.300s, want 401", code, body)
	}
	if code, body := get(t, "http://"+local+"/api/status?reveal=1", append(deviceAuthKV, "Sec-Fetch-Site", "same-origin")...); code != 200 || !strings.Contains(body, "wifi-secret-1") {
		t.Errorf("reveal on the local page: %d %.300s", code, body)
	}

	// The next boot keeps the password and never shows it.
	d.Signal(syscall.SIGTERM)
	d.Wait(10 * time.Second)
	d2 := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	tethertest.WaitPort(t, local, 30*time.Second)
	d2.WaitOutput("access point up for recovery", 10*time.Second)
	clean("the console at the second boot", d2.Output())
	if got := apPassword(t, root); got != ap {
		t.Errorf("the second boot made a new password")
	}
}
