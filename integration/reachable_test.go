package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// Recovery you can always reach: whatever is wrong with a device's config,
// recovery listens somewhere and calls the configured hub. Each test runs
// the real binary against a real hub and waits for the device to show up
// there in recovery.

// reachApp is app.json for the demo app on httpIP:httpPort calling home
// to the hub's device port.
func reachApp(httpIP string, httpPort, homePort int) string {
	return fmt.Sprintf(`{
    "app": "demo",
    "demo": {
        "http": {"ip": %q, "port": %d},
        "home": {"ip": "127.0.0.1", "port": %d}
    }
}
`, httpIP, httpPort, homePort)
}

// waitRecoveryAtHub waits until a page of Device_1 on the hub gets the
// device's state saying it is in recovery, and returns that state.
func waitRecoveryAtHub(t *testing.T, h *hub, d time.Duration) map[string]any {
	t.Helper()
	return waitIDRecoveryAtHub(t, h, "Device_1", d)
}

// waitIDRecoveryAtHub is waitRecoveryAtHub for the device id. On a hub
// that saw the id before, its shadow may say so already: give each
// device a fresh id.
func waitIDRecoveryAtHub(t *testing.T, h *hub, id string, d time.Duration) map[string]any {
	t.Helper()
	p := dialRaw(t, h.page, "/"+id)
	defer p.c.Close()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		op, b, err := p.readFrame(time.Until(end))
		if err != nil {
			break // the deadline: reported below
		}
		if op == opPing {
			p.send(opPong, b)
			continue
		}
		var m map[string]any
		if op == opText && json.Unmarshal(b, &m) == nil && m["recovery"] == true {
			return m
		}
	}
	t.Fatalf("%s did not show up at the hub in recovery within %v", id, d)
	return nil
}

// TestRecoveryFallsBackToEveryInterface: demo.http.ip is an address the
// machine lacks (a stale DHCP lease, a typo). config check warns, the demo
// app cannot listen, and recovery falls back to every interface on that
// port, says so, and calls the configured hub. (It used to try the same
// address forever without calling home: unreachable both ways.)
func TestRecoveryFallsBackToEveryInterface(t *testing.T) {
	h := startHub(t, 0)
	port := tethertest.FreePort(t)
	root := tethertest.SeedRootApp(t, reachApp("192.0.2.1", port, h.devicePort)) // TEST-NET-1: never assigned

	out, err := exec.Command(tethertest.Binary(t), "config", "check", "--root", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warning: demo.http.ip: this machine has no address 192.0.2.1") {
		t.Fatalf("config check: %v\n%s", err, out)
	}

	d := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	waitRecoveryAtHub(t, h, 60*time.Second)
	local := addr(port)
	tethertest.WaitPort(t, local, 10*time.Second)
	if code, body := get(t, "http://"+local+"/api/status", deviceAuthKV...); code != 200 || !strings.Contains(body, "192.0.2.1") {
		t.Fatalf("recovery on every interface, port %d: %d %.300s", port, code, body)
	}
	d.WaitOutput("recovery listens on a fallback address", 5*time.Second)
	if !strings.Contains(d.Output(), "wanted=192.0.2.1:"+port2s(port)) {
		t.Errorf("the log does not say which address was wanted:\n%s", d.Output())
	}
	h.alive(t)
}

// TestRecoveryCallsHomeWithoutListening: recovery can listen nowhere (its
// port is taken on every interface, and so is its fallback address): it
// still calls home, so the hub can repair the device, and takes the port
// as soon as it is free. The fallback is a port this test holds
// (--recovery-fallback), not the default 8080, which anything else on the
// machine may take or give back meanwhile.
func TestRecoveryCallsHomeWithoutListening(t *testing.T) {
	h := startHub(t, 0)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := held.Addr().(*net.TCPAddr).Port
	fallback, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fallback.Close()
	root := tethertest.SeedRootApp(t, reachApp("192.0.2.1", port, h.devicePort))
	d := tethertest.Start(t, "device", "--root", root, "--net", "sim", "--recovery-fallback", fallback.Addr().String())
	waitRecoveryAtHub(t, h, 60*time.Second)
	d.WaitOutput("recovery cannot listen on any address; calling home anyway", 10*time.Second)
	if !strings.Contains(d.Output(), fallback.Addr().String()) {
		t.Errorf("the log does not name the fallback address it tried:\n%s", d.Output())
	}

	held.Close()
	tethertest.WaitPort(t, addr(port), 30*time.Second)
	if code, body := get(t, "http://"+addr(port)+"/api/status", deviceAuthKV...); code != 200 || !strings.Contains(body, `"recovery": true`) {
		t.Fatalf("recovery once its port is free: %d %.300s", code, body)
	}
}

// TestRecoveryHubFromBrokenAppJSON: a JSON typo in app.json no longer
// sends recovery to the built-in hub 127.0.0.1:7770 on 0.0.0.0:8080: it
// takes demo.http and demo.home (a process app's own entry's http and
// home) from the broken file where they read whole, else from the last
// good app.json.bak, and says which in its log.
func TestRecoveryHubFromBrokenAppJSON(t *testing.T) {
	h := startHub(t, 0)
	port := tethertest.FreePort(t)
	good := reachApp("127.0.0.1", port, h.devicePort)
	// a process app (docs/APPS.md) has its page address and hub in its own entry
	proc := strings.Replace(strings.Replace(good, `"demo"`, `"sensor"`, 2), `"sensor": {`, `"sensor": {
        "exec": ["sh", "-c", "sleep 60"],`, 1)
	tests := []struct {
		name, app, bak, from string
	}{
		{"trailing comma", strings.Replace(good, "}\n    }\n}", "},\n    },\n}", 1), "", "home_from=app.json"},
		{"cut short in home", good[:strings.Index(good, `"port": `+port2s(h.devicePort))], good, "home_from=app.json.bak"},
		{"process app, trailing comma", strings.Replace(proc, "}\n    }\n}", "},\n    },\n}", 1), "", "home_from=app.json"},
		{"process app cut short in home", proc[:strings.Index(proc, `"port": `+port2s(h.devicePort))], proc, "home_from=app.json.bak"},
		{"process app cut short before exec", proc[:strings.Index(proc, `"exec"`)], proc, "home_from=app.json.bak"},
		// switched from a process app calling another hub to the demo, with a typo
		{"demo after a process app", strings.Replace(good, "}\n    }\n}", "},\n    },\n}", 1),
			strings.Replace(proc, port2s(h.devicePort), port2s(tethertest.FreePort(t)), 1), "home_from=app.json"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tethertest.SeedRootApp(t, tt.app)
			if tt.bak != "" {
				write(t, filepath.Join(root, "app.json.bak"), tt.bak)
			}
			id := fmt.Sprintf("reach-%d", i) // each its own: the hub keeps the shadow of the one before
			write(t, filepath.Join(root, "network.json"), strings.Replace(tethertest.SeedNetwork, "Device_1", id, 1))
			d := tethertest.Start(t, "device", "--root", root, "--net", "sim")
			waitIDRecoveryAtHub(t, h, id, 30*time.Second)
			tethertest.WaitPort(t, addr(port), 10*time.Second)
			d.WaitOutput(tt.from, 5*time.Second)
			d.WaitOutput("recovery settings from", 5*time.Second)
			d.Signal(syscall.SIGTERM)
			d.Wait(10 * time.Second)
		})
	}
}

// TestRecoverySaveRefusesWhatCannotWork: recovery's save runs config
// check's checks, so a file the device could never use is refused with
// its location and nothing is written.
func TestRecoverySaveRefusesWhatCannotWork(t *testing.T) {
	rec := startRecovery(t)
	base := "http://" + rec.recovery + "/api/config/"
	network, _ := os.ReadFile(filepath.Join(rec.root, "network.json"))
	app, _ := os.ReadFile(filepath.Join(rec.root, "app.json"))
	tests := []struct{ name, file, text, want string }{
		{"unknown app", "app.json", strings.Replace(string(app), `"app": "nosuchapp"`, `"app": "dmeo"`, 1), `app.json:1:9: app: unknown app \"dmeo\"; registered: demo, echoserver, recovery`},
		{"id the hub refuses", "network.json", strings.Replace(string(network), `"iam": "Device_1"`, `"iam": ".pi"`, 1), `network.json:3:16: device.iam: want a device id`},
		{"token with CR LF", "app.json", `{"app": "demo", "demo": {"home": {"ip": "hub.example", "token": "a\r\nb"}}}`, `app.json:1:65: demo.home.token: want a token without CR, LF`},
		{"not UTF-8", "network.json", strings.Replace(string(network), "ESP32", "ESP\xe9", 1), `network.json:4:20: not UTF-8: byte 0xe9`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, base+tt.file, "text/plain", tt.text)
			if code != 422 || !strings.Contains(body, tt.want) {
				t.Fatalf("save: %d %s, want 422 with %q", code, body, tt.want)
			}
		})
	}
	if now, _ := os.ReadFile(filepath.Join(rec.root, "network.json")); string(now) != string(network) {
		t.Errorf("network.json changed:\n%s", now)
	}
	if now, _ := os.ReadFile(filepath.Join(rec.root, "app.json")); string(now) != string(app) {
		t.Errorf("app.json changed:\n%s", now)
	}
}

func port2s(p int) string { return fmt.Sprint(p) }
