package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestHubDashboardManyInBrowser fills a real hub with 300 idle devices
// that report state (tether bench idle --state), 5 that came and went,
// and a real device in recovery, and drives the dashboard in Chromium
// (e2e/hub-dashboard-many.mjs): natural order, updates in place (focus,
// selection and rows survive), search, filters, column sort, forget, no
// horizontal scroll at 390 px, dark mode, the 404 page of an unknown id.
// Its screenshots at 1280 and 390 px are the README's.
func TestHubDashboardManyInBrowser(t *testing.T) {
	h := startHubProc(t)
	devURL := "ws://127.0.0.1:" + strconv.Itoa(h.devPort)
	gone := tethertest.Start(t, "bench", "idle", "--url", devURL, "--id-prefix", "gone-", "--devices", "5", "--hold", "100ms")
	if code := gone.Wait(30 * time.Second); code != 0 {
		t.Fatalf("bench idle (gone-): exit %d\n%s", code, gone.Output())
	}
	tethertest.Start(t, "bench", "idle", "--url", devURL, "--devices", "300", "--state", "--hold", "10m", "--ramp", "500")

	dir := t.TempDir()
	root := hubDeviceRoot(t, h.devPort, "")
	if err := os.WriteFile(filepath.Join(root, "app.json"), []byte(recoveryApp("nosuchapp", tethertest.FreePort(t), h.devPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	tethertest.Start(t, "device", "--root", root, "--net", "sim")

	const total = 306 // 300 + 5 gone + Device_1 in recovery
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := h.get(t, "/api/devices")
		var ds []struct {
			Online   bool   `json:"online"`
			App      string `json:"app"`
			Recovery bool   `json:"recovery"`
		}
		json.Unmarshal([]byte(body), &ds)
		online, idle, recovery := 0, 0, 0
		for _, d := range ds {
			if d.Online {
				online++
			}
			if d.App == "idle" {
				idle++
			}
			if d.Recovery {
				recovery++
			}
		}
		if len(ds) == total && online == 301 && idle == 300 && recovery == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after 60 s: %d devices, %d online, %d on app idle, %d in recovery; want %d, 301, 300, 1", len(ds), online, idle, recovery, total)
		}
	}
	shots := filepath.Join(dir, "dash")
	out := tethertest.Browser(t, "hub-dashboard-many.mjs", fmt.Sprintf("http://127.0.0.1:%d/", h.pagePort),
		shots, strconv.Itoa(total), "gone-0", "Device_1")
	t.Log(out)
	if !strings.Contains(out, "hub dashboard with many devices ok") {
		t.Fatalf("browser: %s", out)
	}
	tethertest.KeepScreenshot(t, shots+"-wide.png", "hub-dashboard.png")
	tethertest.KeepScreenshot(t, shots+"-phone.png", "hub-dashboard-phone.png")
}
