package devtls_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// Chromium loads the demo page over https:// (a self-signed first-boot
// certificate; certificate errors ignored for this launch only) and runs
// the fake-interface flow: the page derives wss:// from its own scheme.
func TestBrowserHTTPS(t *testing.T) {
	needBinary(t)
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	root := seedRoot(t, "demo", h, w, 7777, `, "tls": {"enabled": true}`, "")
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("demo serving", 60*time.Second)
	shot := filepath.Join(t.TempDir(), "page-tls.png")
	out := tethertest.Browser(t, "page-tls.mjs", "https://127.0.0.1:"+itoa(h)+"/", shot, "Device_1")
	if _, err := os.Stat(shot); err != nil || !strings.Contains(out, "browser flow ok") {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	// Both ports serve TLS only (ws:// there gets a 400), so the flow ran
	// over the wss:// the page derived from https:.
	if os.Getenv("TETHER_KEEP_SHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("TETHER_KEEP_SHOT"), data, 0o644)
	}
}
