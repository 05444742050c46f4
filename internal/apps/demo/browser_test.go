package demo_test

import (
	"os"
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
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	dst := filepath.Join(tethertest.ProjectRoot(t), "docs", "img", "device-page.png")
	if _, err := os.Stat(dst); err == nil && os.Getenv("TETHER_SCREENSHOTS") == "" {
		t.Logf("screenshot in %s (set TETHER_SCREENSHOTS=1 to refresh %s)", shot, dst)
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
