package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestHubInBrowser runs a hub with --auth and a real device (tether device,
// demo app) holding its token and calling home to it, and drives the
// dashboard and the device's page through the hub in Chromium: login,
// device online, fake-interface flow, device stopped and shown offline
// (e2e/hub-dashboard.mjs).
func TestHubInBrowser(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth.json")
	if err := os.WriteFile(auth, []byte(`{"devices": {"Device_1": {"token": "dev-secret"}}, "pages": [{"token": "page-secret"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHubProc(t, "--auth", auth)
	root := hubDeviceRoot(t, h.devPort, "dev-secret")
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	h.WaitOutput("device connected", 20*time.Second)
	shots := filepath.Join(dir, "hub")
	out := tethertest.Browser(t, "hub-dashboard.mjs", fmt.Sprintf("http://127.0.0.1:%d/", h.pagePort),
		shots, "Device_1", strconv.Itoa(dev.Cmd.Process.Pid), "page-secret")
	if !strings.Contains(out, "hub dashboard flow ok") {
		t.Fatalf("browser: %s", out)
	}
	if code := dev.Wait(6 * time.Second); code != 0 {
		t.Errorf("device exit code after SIGTERM: %d", code)
	}
	for _, s := range []string{"-dashboard.png", "-device.png", "-offline.png"} {
		if _, err := os.Stat(shots + s); err != nil {
			t.Errorf("screenshot %s: %v", s, err)
		}
	}
	if !strings.Contains(h.Output(), "dashboard login refused") {
		t.Errorf("the wrong token's login was not logged")
	}
}

// hubDeviceRoot writes a seed-format device root for Device_1 running the
// demo app on free ports, calling home to 127.0.0.1:homePort with token.
func hubDeviceRoot(t *testing.T, homePort int, token string) string {
	t.Helper()
	return tethertest.SeedRootApp(t, fmt.Sprintf(`{"app": "demo", "echoserver": {"listen_addr": "127.0.0.1", "listen_port": %d},
 "demo": {"http": {"ip": "127.0.0.1", "port": %d}, "websocket": {"ip": "127.0.0.1", "port": %d},
          "home": {"ip": "127.0.0.1", "port": %d, "token": %q}}}`,
		tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), homePort, token))
}
