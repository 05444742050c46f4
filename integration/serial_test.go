package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// serialRig is a real tether device calling home to a real hub, whose
// demo app declares three serial drivers: uart on a pseudo-terminal whose
// far end upper-cases each line (the seed's fake interface in hardware),
// gone on a port that is not there, and held on a port Python holds.
type serialRig struct {
	dev       *device
	hub       *hub
	peer      *tethertest.SerialPeer
	gone      string
	held      string
	holderPid int
}

func startSerialRig(t *testing.T) *serialRig {
	t.Helper()
	r := &serialRig{peer: tethertest.NewSerialPeer(t)}
	r.gone = filepath.Join(filepath.Dir(r.peer.Path), "ttyGONE0")
	heldPeer := tethertest.NewSerialPeer(t)
	r.held = heldPeer.Path
	r.holderPid = tethertest.HoldPort(t, r.held)
	r.hub = startHub(t, 0)
	drivers := fmt.Sprintf(`"drivers": {
    "uart": {"kind": "serial", "port": %q, "baud": 115200},
    "gone": {"kind": "serial", "port": %q, "start": true},
    "held": {"kind": "serial", "port": %q, "read_only": true}}`, r.peer.Path, r.gone, r.held)
	r.dev = startDeviceDemo(t, r.hub.devicePort, drivers)
	return r
}

// page connects a client to the device through the hub.
func (r *serialRig) page(t *testing.T) *rawConn {
	t.Helper()
	c := dialRaw(t, r.hub.page, "/Device_1")
	c.waitText(`"iam":"Device_1"`, 20*time.Second)
	return c
}

// The fake-interface flow with the serial kind on the real binary: a line
// sent locally or through the hub comes back upper-cased from the far end
// to every client; the port unplugged and plugged in again is waited for
// and the flow resumes with no restart; a flood and an endless line are
// bounded and leave the clients connected; a missing and a held port are
// answered clearly, in the state and by config check.
func TestSerialDeviceLocallyAndThroughHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the tether binary")
	}
	r := startSerialRig(t)
	local := dialRaw(t, r.dev.ws, "/", deviceAuth)
	local.waitText(`"iam":"Device_1"`, 10*time.Second)
	local.sendText(`["CMD", "hal", []]`)
	local.waitText(`{"name":"uart","kind":"serial","running":false,"status":"stopped"}`, 10*time.Second)
	local.waitText(`"gone/running":true`, 10*time.Second) // "start": true in app.json
	local.sendText(`["CMD", "start_interface", ["uart"]]`)
	local.waitText(`"uart/status":"open: `+r.peer.Path+` at 115200 8N1"`, 10*time.Second)

	page := r.page(t)
	page.sendText(`["CMD", "send_message", ["through the hub", "uart"]]`)
	page.waitText(`{"uart/line":"THROUGH THE HUB"}`, 10*time.Second)
	local.waitText(`{"uart/line":"THROUGH THE HUB"}`, 10*time.Second)
	local.sendText(`["CMD", "start_interface", []]`)
	local.sendText(`["CMD", "send_message", ["the seed flow"]]`)
	local.waitText(`{"fake_interface/msg":"THE SEED FLOW"}`, 10*time.Second)

	// Steps, not subtests: the clients belong to the whole test.
	r.replug(t, local, page)
	r.flood(t, local, page)
	r.badPorts(t, local)
	r.configCheck(t)
	r.dev.alive(t)
	r.hub.alive(t)
}

// replug pulls the port and plugs in a new one behind the same path.
func (r *serialRig) replug(t *testing.T, local, page *rawConn) {
	for round := range 2 {
		r.peer.Unplug()
		for _, c := range []*rawConn{local, page} {
			c.waitText(`"uart/status":"waiting: `, 15*time.Second)
		}
		local.sendText(`["CMD", "send_message", ["lost", "uart"]]`)
		local.waitText(`{"error":"uart is not open: waiting: `, 10*time.Second)
		r.peer.Plug()
		local.waitText(`"uart/status":"open: `, 15*time.Second)
		msg := fmt.Sprintf("back %d", round)
		page.sendText(`["CMD", "send_message", ["` + msg + `", "uart"]]`)
		page.waitText(`{"uart/line":"`+strings.ToUpper(msg)+`"}`, 10*time.Second)
	}
}

// flood sends 5000 lines at once, then a 1 MiB line with no end.
func (r *serialRig) flood(t *testing.T, local, page *rawConn) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "flood %d\n", i)
	}
	r.peer.Write([]byte(b.String()))
	dropped := regexp.MustCompile(`"uart/dropped":[1-9]`)
	for m := ""; !dropped.MatchString(m); {
		m = local.waitText(`"uart/dropped":`, 15*time.Second)
	}
	r.peer.Write([]byte(strings.Repeat("z", 1<<20) + "\nend\n"))
	local.waitText(`{"uart/line":"`+strings.Repeat("z", 4096)+`…[truncated]"}`, 15*time.Second)
	page.waitText(`{"uart/line":"end"}`, 15*time.Second)
	local.waitText(`"uart/truncated":1`, 15*time.Second)
	local.sendText(`["GET", "wifi", []]`)
	local.waitText(`"wifi/net/ip"`, 10*time.Second)
	if m := rss(t, r.dev.proc.Cmd.Process.Pid); m > 200<<20 {
		t.Errorf("device RSS %d MiB after the flood", m>>20)
	} else {
		t.Logf("device RSS %d MiB after the flood", m>>20)
	}
}

// badPorts starts the drivers whose ports cannot open: each says why in
// its status, and the device carries on.
func (r *serialRig) badPorts(t *testing.T, local *rawConn) {
	local.sendText(`["CMD", "start_interface", ["gone"]]`)
	local.waitText(`"gone/status":"waiting: `+r.gone+` is not there (unplugged?), retrying"`, 10*time.Second)
	local.sendText(`["CMD", "start_interface", ["held"]]`)
	local.waitText(fmt.Sprintf(`"held/status":"error: %s is held by another program (pid %d, python3), retrying"`, r.held, r.holderPid), 10*time.Second)
	local.sendText(`["CMD", "send_message", ["x", "held"]]`)
	local.waitText(`{"error":"held is read-only (read_only in app.json): it only listens"}`, 10*time.Second)
}

// configCheck runs tether config check on the running device's root: the
// port the device holds is a warning, the missing one too, the one held
// by another program an error, each at its place in app.json.
func (r *serialRig) configCheck(t *testing.T) {
	out, err := exec.Command(tethertest.Binary(t), "config", "check", "--root", r.dev.root).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("config check: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{
		fmt.Sprintf(`app.json:6:40: warning: demo.drivers.uart.port: %s is in use by tether (pid %d): the device running this config?`, r.peer.Path, r.dev.proc.Cmd.Process.Pid),
		fmt.Sprintf(`app.json:7:40: warning: demo.drivers.gone.port: %s is not there now (unplugged?): the driver waits for it and opens it when it comes`, r.gone),
		fmt.Sprintf(`app.json:8:40: error: demo.drivers.held.port: %s is held by another program (pid %d, python3): the driver cannot open it until it lets go`, r.held, r.holderPid),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config check lacks\n%s\nin\n%s", want, out)
		}
	}
}

// A wrong baud rate is a located error in config check, and a device
// given it falls into recovery with the same reason, never a crash loop;
// a rate outside the standard ones is a warning.
func TestSerialBadBaud(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the tether binary")
	}
	d := startDevice(t, 0)
	d.proc.Cmd.Process.Kill()
	d.proc.Wait(10 * time.Second)
	bad := `"drivers": {"uart": {"kind": "serial", "port": "/dev/ttyACM0", "baud": "fast"}, "odd": {"kind": "serial", "port": "/dev/ttyACM1", "baud": 74880}}`
	app, err := os.ReadFile(filepath.Join(d.root, "app.json"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d.root, "app.json"), strings.Replace(string(app), `}}}`, `}, `+bad+`}}`, 1))
	out, _ := exec.Command(tethertest.Binary(t), "config", "check", "--root", d.root).CombinedOutput()
	for _, want := range []string{
		`error: demo.drivers.uart.baud: want a baud rate 50-4000000 (9600, 115200, …), got "fast"`,
		`warning: demo.drivers.odd.baud: 74880 is not a standard rate: the port must support custom rates`,
	} {
		if !regexp.MustCompile(`app\.json:\d+:\d+: ` + regexp.QuoteMeta(want)).Match(out) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
	rec := startDeviceRoot(t, d)
	c := dialRaw(t, rec.recovery, "/", deviceAuth)
	c.waitText(`demo.drivers.uart.baud: want a baud rate`, 10*time.Second)
	if rec.proc.Exited() {
		t.Fatalf("device exited:\n%s", rec.proc.Output())
	}
}

// The device page in Chromium shows the serial drivers as it shows the
// fake interface, on the device's own port and through the hub.
func TestSerialPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the tether binary and Chromium")
	}
	r := startSerialRig(t)
	for _, tc := range []struct{ name, url string }{
		{"local", "http://" + r.dev.http + "/"},
		{"through the hub", "http://" + r.hub.page + "/d/Device_1/"},
	} {
		shot := filepath.Join(t.TempDir(), "device-serial.png")
		out := tethertest.Browser(t, "serial.mjs", tc.url, shot)
		if !strings.Contains(out, "serial page ok") {
			t.Fatalf("%s: browser said:\n%s", tc.name, out)
		}
		if tc.name == "local" {
			tethertest.KeepScreenshot(t, shot, "device-serial.png")
		}
	}
}

// A port flooding a driver whose max_rate is high (1000 lines a second)
// passes lines on in bursts the clients' send queues (256 messages) take:
// neither a local client nor the hub link (a client of the device too) is
// closed as too slow, and both still get what the port says afterwards.
func TestSerialFastFloodKeepsClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the tether binary")
	}
	peer := tethertest.NewSerialPeer(t)
	h := startHub(t, 0)
	dev := startDeviceDemo(t, h.devicePort, fmt.Sprintf(`"drivers": {
    "uart": {"kind": "serial", "port": %q, "baud": 115200, "max_rate": 1000, "start": true}}`, peer.Path))
	local := dialRaw(t, dev.ws, "/", deviceAuth)
	local.waitText(`"uart/status":"open: `, 15*time.Second)
	page := dialRaw(t, h.page, "/Device_1")
	page.waitText(`"iam":"Device_1"`, 20*time.Second)
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "flood %d\n", i)
	}
	peer.Write([]byte(b.String()))
	dropped := regexp.MustCompile(`"uart/dropped":[1-9]`)
	for m := ""; !dropped.MatchString(m); {
		m = local.waitText(`"uart/dropped":`, 15*time.Second)
	}
	page.sendText(`["CMD", "send_message", ["after the flood", "uart"]]`)
	for _, c := range []*rawConn{local, page} {
		c.waitText(`{"uart/line":"AFTER THE FLOOD"}`, 15*time.Second)
	}
	if strings.Contains(dev.proc.Output(), "lost home connection") {
		t.Errorf("the device lost its hub link in the flood:\n%s", dev.proc.Output())
	}
}
