package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// device is a running tether device (demo app, sim network).
type device struct {
	proc                     *tethertest.Proc
	http, ws, home, recovery string // addresses
	root                     string
}

// startDevice writes a seed-format device root for the demo app calling
// home to homePort (0: a port nothing listens on) and runs tether device.
func startDevice(t testing.TB, homePort int, extra ...string) *device {
	t.Helper()
	return startDeviceDemo(t, homePort, "", extra...)
}

// startDeviceDemo is startDevice with demoKeys (`"drivers": {...}`) added
// to the demo's section of app.json.
func startDeviceDemo(t testing.TB, homePort int, demoKeys string, extra ...string) *device {
	t.Helper()
	if demoKeys != "" {
		demoKeys = ",\n          " + demoKeys
	}
	if homePort == 0 {
		homePort = tethertest.FreePort(t)
	}
	d := &device{http: addr(tethertest.FreePort(t)), ws: addr(tethertest.FreePort(t)), home: addr(homePort),
		recovery: addr(tethertest.FreePort(t))}
	d.root = tethertest.SeedRootApp(t, fmt.Sprintf(`{"app": "demo",
 "echoserver": {"listen_addr": "127.0.0.1", "listen_port": %d},
 "demo": {"http": {"ip": "127.0.0.1", "port": %s}, "websocket": {"ip": "127.0.0.1", "port": %s},
          "home": {"ip": "127.0.0.1", "port": %d}%s}}
`, tethertest.FreePort(t), port(d.http), port(d.ws), homePort, demoKeys))
	d.proc = tethertest.Start(t, append([]string{"device", "--root", d.root, "--net", "sim", "--recovery-addr", d.recovery}, extra...)...)
	tethertest.WaitPort(t, d.http, 30*time.Second)
	tethertest.WaitPort(t, d.ws, 30*time.Second)
	return d
}

// startDeviceRoot runs tether device again on old's root and addresses,
// waiting for the recovery address (a root that boots into recovery).
func startDeviceRoot(t testing.TB, old *device) *device {
	t.Helper()
	d := *old
	d.proc = tethertest.Start(t, "device", "--root", d.root, "--net", "sim", "--recovery-addr", d.recovery)
	tethertest.WaitPort(t, d.recovery, 30*time.Second)
	return &d
}

func port(a string) string { return a[strings.LastIndexByte(a, ':')+1:] }

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// alive fails the test unless the device process runs and answers the
// command flow: a fresh client gets the state, then GET wifi.
func (d *device) alive(t testing.TB) {
	t.Helper()
	if d.proc.Exited() {
		t.Fatalf("device exited:\n%s", d.proc.Output())
	}
	c := dialRaw(t, d.ws, "/", deviceAuth)
	defer c.c.Close()
	c.waitText(`"iam"`, 10*time.Second)
	c.sendText(`["GET", "wifi", []]`)
	c.waitText(`"wifi/`, 10*time.Second)
}

// hub is a running tether hub.
type hub struct {
	proc       *tethertest.Proc
	dev, page  string // addresses
	devicePort int
}

// startHub runs tether hub on ports of its choosing (the device endpoint
// on devicePort when not 0) with extra flags.
func startHub(t testing.TB, devicePort int, extra ...string) *hub {
	t.Helper()
	return startHubBin(t, tethertest.Binary(t), devicePort, extra...)
}

// startHubBin is startHub with the tether binary at bin. The hub listens
// on 127.0.0.1:0 (devicePort 0) and the test reads the ports it bound from
// its log.
func startHubBin(t testing.TB, bin string, devicePort int, extra ...string) *hub {
	t.Helper()
	args := append([]string{"hub", "--device-addr", addr(devicePort), "--page-addr", addr(0)}, extra...)
	h := &hub{proc: tethertest.StartCmd(t, exec.Command(bin, args...))}
	h.dev, h.page = h.proc.HubAddrs(30 * time.Second)
	_, p, _ := net.SplitHostPort(h.dev)
	h.devicePort, _ = strconv.Atoi(p)
	return h
}

// alive fails the test unless the hub runs and relays: a device and a
// page of a fresh id exchange a message both ways.
func (h *hub) alive(t testing.TB) {
	t.Helper()
	if h.proc.Exited() {
		t.Fatalf("hub exited:\n%s", h.proc.Output())
	}
	id := fmt.Sprintf("alive-%d", time.Now().UnixNano())
	d := dialRaw(t, h.dev, "/"+id)
	defer d.c.Close()
	p := dialRaw(t, h.page, "/"+id)
	defer p.c.Close()
	p.waitText(`"hub/device/connected": true`, 10*time.Second)
	p.sendText(`["GET", "x", []]`)
	if m := d.readText(10 * time.Second); m != `["GET", "x", []]` {
		t.Fatalf("device got %q", m)
	}
	d.sendText(`{"k": 1}`)
	p.waitText(`{"k": 1}`, 10*time.Second)
}

// get does an HTTP GET with extra headers and returns status and body.
func get(t testing.TB, url string, hdr ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(b)
}

// deviceAuth is the header line that proves access to a device of a
// tethertest root (its device password), for rawHandshake and dialRaw;
// deviceAuthKV is the same as a key and a value, for get and post.
var (
	deviceAuth   = "Authorization: Bearer " + tethertest.DevicePassword
	deviceAuthKV = []string{"Authorization", "Bearer " + tethertest.DevicePassword}
)

// noRedirects is an HTTP client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
