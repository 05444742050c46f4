package demo_test

import (
	"path/filepath"
	"strings"
	"testing"

	"tether/internal/tethertest"
)

// The embedded page in a real Chromium: the device id shows, the fake
// interface starts, text comes back upper-cased, markup stays text, the
// drivers card lists the fake interface, Save on Device confirms first.
// The page is on its own port, the command API on another, as in the
// seed's app.json. The screenshot goes to docs/img/device-page.png when
// that file is missing or TETHER_SCREENSHOTS is set (so that test runs do
// not leave the tree modified).
func TestPageInChromium(t *testing.T) {
	t.Parallel()
	h := tethertest.FreePort(t)
	w := tethertest.FreePort(t)
	r := start(t, seedApp(h, w, 0, ""))
	shot := filepath.Join(t.TempDir(), "device-page.png")
	out := tethertest.Browser(t, "page.mjs", r.httpURL()+"/", shot, "Device_1")
	if !strings.Contains(out, "browser flow ok") {
		t.Fatalf("browser said:\n%s", out)
	}
	tethertest.KeepScreenshot(t, shot, "device-page.png")
}
