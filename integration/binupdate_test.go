package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestBinaryUpdate updates tether's own binary on a device run as under
// systemd (from bin/tether in its root): a binary that exits at start,
// and one that comes up but cannot reach the hub (the hub is down for its
// trial), are replaced by the old one, which tells the hub why; a real
// newer tether is committed, linked as bin/tether and runs in the same
// process (the old one execs it), reporting its version to the hub.
func TestBinaryUpdate(t *testing.T) {
	r := newUpdRig(t, "6s")
	bin := r.installBinary()

	newer := newerBinary(t)
	broken := filepath.Join(t.TempDir(), "tether-broken")
	tethertest.WriteFile(t, broken, "#!/bin/sh\necho 'tether-broken: cannot map the flash' >&2\nexit 3\n")
	os.Chmod(broken, 0o755)

	// A root given relative to the working folder, as a person would.
	cmd := exec.Command(bin, "device", "--root", filepath.Base(r.root), "--net", "sim", "--update-window", r.window, "--recovery-addr", "127.0.0.1:0")
	cmd.Dir = filepath.Dir(r.root)
	r.dev = tethertest.StartCmd(t, cmd)
	r.dev.WaitOutput("connected to home", 30*time.Second)
	r.version(tethertest.Version)

	t.Run("exits at start", func(t *testing.T) {
		r.t = t
		art := filepath.Join(t.TempDir(), "broken.tether")
		r.run("pack", "--binary", broken, "--os", runtime.GOOS, "--arch", runtime.GOARCH, "--version", "v0.0.3-broken",
			"--key", filepath.Join(r.keys, "update.key"), "-o", art)
		state, reason := r.result(r.push(art), 2*time.Minute)
		t.Logf("%s: %s", state, reason)
		if state != "rolled_back" || !strings.Contains(reason, "exit status 3 before its trial ended") || !strings.Contains(reason, "cannot map the flash") {
			t.Fatalf("Device_1 %s: %q; want rolled_back with the binary's exit and standard error", state, reason)
		}
		r.version(tethertest.Version)
		if fi, err := os.Lstat(bin); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("bin/tether after a rollback: %v %v, want the old binary where it was", fi, err)
		}
	})
	outer := t
	t.Run("cannot reach the hub", func(t *testing.T) {
		r.t = t
		art := filepath.Join(t.TempDir(), "newer.tether")
		r.run("pack", "--binary", newer, "--version", newerVersion, "--key", filepath.Join(r.keys, "update.key"), "-o", art)
		trials, failed := strings.Count(r.dev.Output(), "starting the new binary on trial"), strings.Count(r.dev.Output(), "failed its trial")
		id := r.push(art)
		waitMore(t, r.dev, "starting the new binary on trial", trials, 60*time.Second)
		r.hub.Signal(syscall.SIGTERM) // the hub goes away for the whole trial
		r.hub.Wait(15 * time.Second)
		waitMore(t, r.dev, "failed its trial", failed, 90*time.Second)
		r.hub = tethertest.Start(outer, r.hubArgs...) // for the rest of the test, not this part's

		r.hub.HubAddrs(15 * time.Second)
		state, reason := r.result(id, 2*time.Minute)
		t.Logf("%s: %s", state, reason)
		if state != "rolled_back" || !strings.Contains(reason, "not on its hub at the end of the window") {
			t.Fatalf("Device_1 %s: %q; want rolled_back, off its hub", state, reason)
		}
		r.version(tethertest.Version)
	})
	t.Run("committed", func(t *testing.T) {
		r.t = t
		art := filepath.Join(t.TempDir(), "newer.tether")
		r.run("pack", "--binary", newer, "--version", newerVersion, "--key", filepath.Join(r.keys, "update.key"), "-o", art)
		state, reason := r.result(r.push(art), 2*time.Minute)
		t.Logf("%s: %s", state, reason)
		if state != "committed" {
			t.Fatalf("Device_1 %s: %q; want committed", state, reason)
		}
		r.version(newerVersion)
		target, err := os.Readlink(bin)
		if err != nil || !strings.Contains(target, newerVersion) {
			t.Fatalf("bin/tether: %q, %v; want a link to the new binary", target, err)
		}
		if r.dev.Exited() {
			t.Fatal("the device's process ended: want the old binary to have exec'd the new one in its place")
		}
		if got, _ := filepath.Glob(filepath.Join(r.root, "updates", "tether", "adopted-*", "tether")); len(got) != 1 {
			t.Fatalf("the binary installed by hand is not kept: %v", got)
		}
		// The new one said so at its start, before the hub saw its version.
		if strings.Contains(r.dev.Output(), "but this is another binary") {
			t.Fatalf("the committed binary, run from bin/tether, says it is another binary:\n%s", r.dev.Output())
		}
	})
}

// newerVersion is the release version of newerBinary.
const newerVersion = "v0.0.2-newer"

var newer = builtBinary{args: []string{"-ldflags=-X tether/internal/cli.Version=" + newerVersion}}

// newerBinary builds ./cmd/tether as release newerVersion, once per test
// process: a real newer tether to update devices to.
func newerBinary(t *testing.T) string { return newer.build(t) }

// installBinary makes the rig's device a demo app run by the tether
// under test installed as bin/tether in its root (as the systemd unit
// runs it), and returns that path.
func (r *updRig) installBinary() string {
	r.t.Helper()
	tethertest.WriteFile(r.t, filepath.Join(r.root, "app.json"), fmt.Sprintf(`{"app": "demo",
  "demo": {"http": {"ip": "127.0.0.1", "port": 0}, "home": {"ip": "127.0.0.1", "port": %d}}}`, r.devPort))
	bin := filepath.Join(r.root, "bin", "tether")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	copyFile(r.t, tethertest.Binary(r.t), bin, 0o755)
	return bin
}

// version waits for the hub's view of Device_1 to say tether's version.
func (r *updRig) version(want string) {
	r.t.Helper()
	end := time.Now().Add(60 * time.Second)
	var last any
	for time.Now().Before(end) {
		var d struct {
			Online  bool   `json:"online"`
			Version string `json:"version"`
		}
		r.api("/api/devices/Device_1", &d)
		last = d
		if d.Online && d.Version == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("the hub does not see Device_1 running tether %s: %+v", want, last)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// waitMore waits for p's output to hold text more than n times.
func waitMore(t *testing.T, p *tethertest.Proc, text string, n int, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for strings.Count(p.Output(), text) <= n {
		if time.Now().After(end) {
			t.Fatalf("no new %q in the output after %v:\n%s", text, d, p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
