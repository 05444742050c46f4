package cli_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestEnrolledDeviceRefusesAnotherCA: the device is pinned to the CA of
// the hub it enrolled with. Enrolled, it calls home; that hub stops and
// another one takes its address (same host and port) with a server
// certificate for the same address from another CA, and no auth, so it
// would take any device that finished a handshake: the device refuses
// its certificate (its log says the authority is unknown), so that hub
// never sees the device connect; when the right hub is back on the
// address, the device calls it home again and a page drives it.
func TestEnrolledDeviceRefusesAnotherCA(t *testing.T) {
	h, caDir, auditLog := enrollHub(t)
	uri := makeCode(t, h, caDir, "--device", "Device_1")
	root := tethertest.SeedRoot(t, "demo", tethertest.FreePort(t), 0, 1, 0)
	if out, code := runBinary(t, "", "device", "enroll", "--root", root, "--code", uri); code != 0 {
		t.Fatalf("device enroll: exit %d\n%s", code, out)
	}
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	h.WaitOutput("device connected", 30*time.Second)
	dev.WaitOutput("connected to home", 10*time.Second)

	devAddr := fmt.Sprintf("127.0.0.1:%d", h.devPort)
	h.Signal(syscall.SIGTERM)
	h.Wait(10 * time.Second)
	dev.WaitOutput("lost home connection", 10*time.Second)

	other := wsCerts(t) // another tether certs init: another CA, a server certificate for 127.0.0.1
	impostor := startHubProc(t, "--tls-cert", filepath.Join(other, "server.crt"), "--tls-key", filepath.Join(other, "server.key"),
		"--device-addr", devAddr)
	impostor.WaitOutput("hub is OPEN", 5*time.Second) // it would take any device that finished a handshake
	warning := dev.WaitMatch(`msg="home unreachable, will keep trying".*not its hub.*certificate signed by unknown authority`, 30*time.Second)
	impostor.Signal(syscall.SIGTERM)
	impostor.Wait(10 * time.Second)
	if strings.Contains(impostor.Output(), "device connected") || strings.Contains(impostor.Output(), "Device_1") {
		t.Fatalf("the hub with another CA had the device connect (it said %s):\n%s", warning[0], impostor.Output())
	}

	back := startEnrollHub(t, caDir, auditLog, "--device-addr", devAddr)
	back.WaitOutput("device connected", 90*time.Second)
	ws := tethertest.DialWS(t, fmt.Sprintf("wss://127.0.0.1:%d/Device_1", back.pagePort), tethertest.WSOptions{
		TLS: trusting(t, filepath.Join(caDir, "ca.crt")), Header: map[string][]string{"Authorization": {"Bearer root"}}})
	ws.Send(`["CMD", "start_interface", []]`)
	ws.ExpectKey("fake_interface/running", true)
}
