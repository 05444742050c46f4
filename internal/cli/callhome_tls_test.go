package cli_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestDeviceCallsHomeOverTLS is the whole certificate story with real
// processes: tether certs makes a CA, the hub's server certificate and
// Device_1's client certificate; tether hub requires client certificates
// signed by that CA; a real tether device (demo app) configured with the CA
// and its certificate calls home over wss://; a page on the hub's wss://
// page endpoint drives the fake interface through it.
func TestDeviceCallsHomeOverTLS(t *testing.T) {
	dir := wsCerts(t) // tether certs init, server (127.0.0.1), device Device_1
	file := func(n string) string { return filepath.Join(dir, n) }
	devPort, pagePort := tethertest.FreePort(t), tethertest.FreePort(t)
	hub := tethertest.Start(t, "hub",
		"--device-addr", fmt.Sprintf("127.0.0.1:%d", devPort), "--page-addr", fmt.Sprintf("127.0.0.1:%d", pagePort),
		"--tls-cert", file("server.crt"), "--tls-key", file("server.key"), "--client-ca", file("ca.crt"))
	hub.WaitOutput("hub listening", 20*time.Second)

	// The device root holds the CA and its own client pair under certs/
	// (not server.crt: the device's own page stays plain http here).
	root := tethertest.SeedRoot(t, "demo", tethertest.FreePort(t), 0, devPort, 0)
	if err := os.Mkdir(filepath.Join(root, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ca.crt", "Device_1.crt", "Device_1.key"} {
		b, err := os.ReadFile(file(n))
		if err != nil {
			t.Fatal(err)
		}
		tethertest.WriteFile(t, filepath.Join(root, "certs", n), string(b))
		os.Chmod(filepath.Join(root, "certs", n), 0o600)
	}
	httpPort := tethertest.FreePort(t)
	tethertest.WriteFile(t, filepath.Join(root, "app.json"), fmt.Sprintf(`{"app": "demo",
 "demo": {"http": {"ip": "127.0.0.1", "port": %d}, "websocket": {"ip": "127.0.0.1", "port": %d},
          "home": {"ip": "127.0.0.1", "port": %d, "tls": true,
                   "ca": "certs/ca.crt", "cert": "certs/Device_1.crt", "key": "certs/Device_1.key"}}}`, httpPort, httpPort, devPort))
	tethertest.Start(t, "device", "--root", root, "--net", "sim")
	hub.WaitOutput("device connected", 30*time.Second)

	ws := tethertest.DialWS(t, fmt.Sprintf("wss://127.0.0.1:%d/Device_1", pagePort), tethertest.WSOptions{TLS: trusting(t, file("ca.crt"))})
	ws.Send(`["CMD", "start_interface", []]`)
	ws.ExpectKey("fake_interface/running", true)
	ws.Send(`["CMD", "send_message", ["over tls both ways"]]`)
	ws.ExpectKey("fake_interface/msg", "OVER TLS BOTH WAYS")
}

// trusting returns a TLS configuration that trusts only the CA in caFile.
func trusting(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return &tls.Config{RootCAs: pool}
}
