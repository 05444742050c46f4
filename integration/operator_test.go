package integration

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// restartDevice runs tether device again on d's root and addresses.
func restartDevice(t testing.TB, d *device, extra ...string) {
	t.Helper()
	d.proc = tethertest.Start(t, append([]string{"device", "--root", d.root, "--net", "sim", "--recovery-addr", d.recovery}, extra...)...)
	tethertest.WaitPort(t, d.ws, 30*time.Second)
}

// The device page through a real hub, in Chromium: controls and errors
// behave, and when the device stops the page says so at once (why, when it
// was last seen) with its controls off; when it starts again the page
// recovers by itself, asks for the state afresh and drops the old error.
func TestOperatorPagePresence(t *testing.T) {
	t.Parallel()
	h := startHub(t, 0)
	d := startDevice(t, h.devicePort)
	shot := filepath.Join(t.TempDir(), "offline.png")
	lines, wait := tethertest.BrowserLines(t, "operator.mjs", "presence", "http://"+h.page+"/d/Device_1/", shot)
	tethertest.Expect(t, lines, "ready")
	d.proc.Signal(syscall.SIGTERM)
	if code := d.proc.Wait(15 * time.Second); code != 0 {
		t.Fatalf("device exited with %d", code)
	}
	tethertest.Expect(t, lines, "offline")
	tethertest.KeepScreenshot(t, shot, "device-offline.png")
	restartDevice(t, d)
	tethertest.Expect(t, lines, "presence ok")
	if err := wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
}

// A config change made on the page through a real hub that points home at
// a dead port is rolled back by the device itself when its confirm window
// ends, and the device is back on its hub; the page shows each step.
func TestOperatorPageRevert(t *testing.T) {
	t.Parallel()
	h := startHub(t, 0)
	d := startDevice(t, h.devicePort, "--confirm-window", "8s")
	before, _ := os.ReadFile(filepath.Join(d.root, "app.json"))
	dead := tethertest.FreePort(t)
	shot := filepath.Join(t.TempDir(), "reverted.png")
	start := time.Now()
	lines, wait := tethertest.BrowserLines(t, "operator.mjs", "revert", "http://"+h.page+"/d/Device_1/", shot,
		strconv.Itoa(h.devicePort), strconv.Itoa(dead))
	tethertest.Expect(t, lines, "asked")
	tethertest.Expect(t, lines, "offline")
	tethertest.Expect(t, lines, "revert ok")
	if err := wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
	t.Logf("applied, offline, reverted and back on the hub in %v", time.Since(start).Round(100*time.Millisecond))
	tethertest.KeepScreenshot(t, shot, "device-reverted.png")
	after, _ := os.ReadFile(filepath.Join(d.root, "app.json"))
	if string(after) != string(before) {
		t.Errorf("app.json after the revert:\n%s\nwant:\n%s", after, before)
	}
	if !strings.Contains(d.proc.Output(), "config change reverted") {
		t.Errorf("the device did not log the revert")
	}
}

// A line the device logs reaches a page following its log through a real
// hub within a second of the reply it precedes.
func TestOperatorPageLiveLog(t *testing.T) {
	t.Parallel()
	h := startHub(t, 0)
	startDevice(t, h.devicePort)
	out := tethertest.Browser(t, "operator.mjs", "livelog", "http://"+h.page+"/d/Device_1/", filepath.Join(t.TempDir(), "log.png"))
	if !strings.Contains(out, "livelog ok") {
		t.Fatalf("browser said:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}

// The maintenance cards of a healthy device through a real hub, in
// Chromium: system information, the scan list in the network form, a
// config edit refused before anything is written, and Restart app.
func TestOperatorPageMaintenance(t *testing.T) {
	t.Parallel()
	h := startHub(t, 0)
	d := startDevice(t, h.devicePort)
	before, _ := os.ReadFile(filepath.Join(d.root, "app.json"))
	lines, wait := tethertest.BrowserLines(t, "operator.mjs", "maint", "http://"+h.page+"/d/Device_1/", filepath.Join(t.TempDir(), "maint.png"))
	tethertest.Expect(t, lines, "refused")
	if after, _ := os.ReadFile(filepath.Join(d.root, "app.json")); string(after) != string(before) {
		t.Errorf("app.json after a refused change:\n%s\nwant:\n%s", after, before)
	}
	tethertest.Expect(t, lines, "maint ok")
	if err := wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
	if !strings.Contains(d.proc.Output(), "restart asked: booting again") {
		t.Errorf("the device did not restart")
	}
}

// ?ws= naming another host is refused, on the device's own page and on the
// page a hub serves: a server there would get what is typed in the page,
// the WiFi password too. Nothing connects to it.
func TestPageRefusesOtherWSHost(t *testing.T) {
	t.Parallel()
	h := startHub(t, 0)
	d := startDevice(t, h.devicePort)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			got <- c
		}
	}()
	other := "ws://localhost:" + port(ln.Addr().String()) + "/"
	for _, page := range []string{"http://" + d.http + "/?ws=" + other, "http://" + h.page + "/d/Device_1/?ws=" + other} {
		out := tethertest.Browser(t, "operator.mjs", "wsguard", page, filepath.Join(t.TempDir(), "guard.png"))
		if !strings.Contains(out, "wsguard ok") {
			t.Fatalf("%s: browser said:\n%s", page, out)
		}
	}
	select {
	case c := <-got:
		c.Close()
		t.Fatal("the page connected to the other host")
	default:
	}
}
