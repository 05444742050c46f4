package recovery_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// browserApp is app.json in the seed's format naming app, with the demo
// app's page on httpPort.
func browserApp(app string, httpPort, wsPort, homePort any) string {
	return fmt.Sprintf(`{
    "app": %q,
    "echoserver": {
        "listen_addr": "127.0.0.1",
        "listen_port": 7777
    },
    "demo": {
        "http": {
            "ip": "127.0.0.1",
            "port": %v
        },
        "websocket": {
            "ip": "127.0.0.1",
            "port": %v
        },
        "home": {
            "ip": "127.0.0.1",
            "port": %v
        }
    }
}
`, app, httpPort, wsPort, homePort)
}

// TestBrowserRepair repairs a device in recovery from Chromium, through the
// real binary: the recovery page serves on the demo app's HTTP port, so
// after the restart the same URL shows the demo app's page. On the way,
// the WiFi password is masked until "Show passwords" is clicked.
func TestBrowserRepair(t *testing.T) {
	work := t.TempDir()
	httpPort, wsPort, homePort := tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t)
	root := tethertest.SeedRootApp(t, browserApp("nosuchapp", httpPort, wsPort, homePort))
	write(t, root, "network.json", strings.Replace(tethertest.SeedNetwork, `"<AP password>"`, `"wifi-secret-1"`, 1))
	write(t, work, "broken.json", browserApp("demo", `"eighty"`, wsPort, homePort))
	write(t, work, "good.json", browserApp("demo", httpPort, wsPort, homePort))

	proc := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	tethertest.WaitPort(t, addr, 20*time.Second)
	shots := filepath.Join(work, "recovery")
	script := filepath.Join("..", "internal", "apps", "recovery", "testdata", "recovery.mjs") // from e2e/
	out := tethertest.Browser(t, script, "http://"+addr+"/", shots, filepath.Join(work, "broken.json"), filepath.Join(work, "good.json"), "wifi-secret-1")
	if !strings.Contains(out, "recovery flow ok") {
		t.Fatalf("browser: %s", out)
	}
	for _, png := range []string{"-refused.png", "-app.png"} {
		if _, err := os.Stat(shots + png); err != nil {
			t.Errorf("no screenshot %s: %v", png, err)
		}
	}
	proc.WaitOutput(`starting app \"demo\"`, 5*time.Second)
	if b, _ := os.ReadFile(filepath.Join(root, "app.json")); !strings.Contains(string(b), `"app": "demo"`) {
		t.Errorf("app.json after the repair:\n%s", b)
	}
}
