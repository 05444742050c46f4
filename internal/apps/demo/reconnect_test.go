package demo_test

import (
	"path/filepath"
	"testing"

	"tether/internal/tethertest"
)

// The page in Chromium notices the device going away, says so in its status
// line (no alert box), and reconnects by itself when the device is back.
func TestPageReconnects(t *testing.T) {
	t.Parallel()
	h := tethertest.FreePort(t)
	w := tethertest.FreePort(t)
	r := start(t, seedApp(h, w, 0, ""))
	lines, wait := tethertest.BrowserLines(t, "device-reconnect.mjs", r.httpURL()+"/", filepath.Join(t.TempDir(), "reconnect.png"))
	tethertest.Expect(t, lines, "connected")
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	tethertest.Expect(t, lines, "saw the loss")
	startRoot(t, r.root) // same ports
	tethertest.Expect(t, lines, "reconnect ok")
	if err := wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
}
