//go:build linux

package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestBinaryUpdateSurvivesSIGKILL updates tether's own binary on a device
// run as systemd runs it (deploy/tether-device.service: Type=notify,
// NotifyAccess=main, WatchdogSec, Restart=always, ExecStart=bin/tether),
// and kills it (SIGKILL, the whole process: the binary on trial dies with
// it) at each step: downloading, unpacking, staged, the trial recorded
// but the new binary not started, the new binary on trial, the new binary
// committing (bin/tether switched, its verdict not yet written), and
// rolling back. Each time bin/tether is a binary that runs at the instant
// after the kill, and "systemd" starting it again ends on the new version
// committed, or on the one before it with the reason at the hub; the
// process runs what bin/tether names. Through all of it only the main
// process speaks to systemd, and its watchdog is fed within WatchdogSec,
// the trial's handover and exec included.
func TestBinaryUpdateSurvivesSIGKILL(t *testing.T) {
	if tethertest.Short() {
		t.Skip("eight binary trials: not in -short")
	}
	r := newUpdRig(t, "6s")
	bin := r.installBinary()
	newer := newerBinary(t)
	sd := newFakeSystemd(t, 10*time.Second)
	launch := func(env ...string) { // as systemd does: ExecStart, at start and on Restart=always
		cmd := exec.Command(bin, "device", "--root", r.root, "--net", "sim", "--update-window", r.window, "--recovery-addr", "127.0.0.1:0")
		cmd.Env = append(append(os.Environ(), sd.env()...), env...)
		r.dev = tethertest.StartCmd(t, cmd)
		sd.started(r.dev.Cmd.Process.Pid)
	}
	start := func(env ...string) {
		launch(env...)
		r.dev.WaitOutput("connected to home", 60*time.Second)
	}
	steps := []struct {
		name, hold string
		hubDown    bool   // the hub stops when the new binary is on trial (before the hold, if any), and starts again after the restart
		restartOff bool   // the hub is still down when "systemd" starts the device again
		state      string // how the update ends
		reason     string
	}{
		{name: "download", hold: "download", state: "committed"},
		{name: "staging", hold: "staging", state: "committed"},
		{name: "staged", hold: "staged", state: "committed"},
		{name: "switch", hold: "switch", state: "committed"},
		{name: "trial", state: "committed"},
		{name: "link", hold: "link", state: "committed"},
		{name: "link then no hub", hold: "link", restartOff: true, state: "rolled_back", reason: "not on its hub"},
		{name: "rollback", hold: "rollback", hubDown: true, state: "rolled_back", reason: "not on its hub"},
	}
	start()
	// One process lives across steps, so the steps are not subtests (a
	// subtest's processes end with it); each says its name when it fails.
	for i, st := range steps {
		t.Logf("step %d: SIGKILL at %s", i, st.name)
		before := resolve(t, bin)
		version := fmt.Sprintf("v0.0.2-k%d", i)
		art := filepath.Join(t.TempDir(), "tether.tether")
		r.run("pack", "--binary", newer, "--version", version, "--key", filepath.Join(r.keys, "update.key"), "-o", art)
		if st.hold != "" { // this run of the device holds there
			r.dev.Signal(syscall.SIGTERM)
			r.dev.Wait(30 * time.Second)
			start("TETHER_TEST_UPDATE_HOLD=" + st.hold)
		}
		trials, windows := strings.Count(r.dev.Output(), "starting the new binary on trial"), strings.Count(r.dev.Output(), "its window starts")
		id := r.push(art)
		if st.hubDown {
			waitMore(t, r.dev, "its window starts", windows, 60*time.Second)
			r.stopHub()
		}
		switch {
		case st.hold != "":
			r.dev.WaitOutput("holding at "+st.hold, 90*time.Second)
		default: // the new binary on trial, its window running
			waitMore(t, r.dev, "starting the new binary on trial", trials, 60*time.Second)
			waitMore(t, r.dev, "its window starts", windows, 60*time.Second)
		}
		r.dev.Signal(syscall.SIGKILL)
		r.dev.Wait(10 * time.Second)
		runs(t, bin) // the instant after the kill: never on nothing
		if st.restartOff {
			r.stopHub()
		}
		restarted := sd.mark()
		launch()
		if st.restartOff || st.hubDown {
			r.dev.WaitOutput("failed its trial", 90*time.Second)
			r.startHub()
		}
		state, reason := r.result(id, 2*time.Minute)
		t.Logf("%s: %s", state, reason)
		if state != st.state || !strings.Contains(reason, st.reason) {
			t.Fatalf("after SIGKILL at %s and a restart: %s (%s), want %s %q", st.name, state, reason, st.state, st.reason)
		}
		r.dev.WaitOutput("connected to home", 60*time.Second)
		after := resolve(t, bin)
		if st.state == "committed" && !strings.Contains(after, version) || st.state != "committed" && after != before {
			t.Fatalf("bin/tether is %s (was %s), want the %s one", after, before, st.state)
		}
		waitExe(t, r.dev.Cmd.Process.Pid, after)
		sd.check(t, restarted)
	}
}

// stopHub stops the rig's hub; startHub starts it again on its ports.
func (r *updRig) stopHub() {
	r.t.Helper()
	r.hub.Signal(syscall.SIGTERM)
	r.hub.Wait(15 * time.Second)
}

func (r *updRig) startHub() {
	r.t.Helper()
	r.hub = tethertest.Start(r.t, r.hubArgs...)
	r.hub.HubAddrs(15 * time.Second)
}

// resolve is where bin/tether leads, a file that must exist.
func resolve(t *testing.T, bin string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatalf("bin/tether: %v", err)
	}
	return p
}

// runs checks that bin/tether is a binary that runs.
func runs(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("bin/tether --version: %v\n%s", err, out)
	}
}

// waitExe waits for process pid to run the binary at path (the old
// binary execs the next one in the same process).
func waitExe(t *testing.T, pid int, path string) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	var exe string
	for time.Now().Before(end) {
		exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if exe == path {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the device's process runs %s, want %s (bin/tether)", exe, path)
}

// fakeSystemd stands in for systemd's side of sd_notify: a datagram socket
// in NOTIFY_SOCKET that hears, with the sender's PID (SO_PASSCRED), what
// each process says, and the watchdog interval in WATCHDOG_USEC.
type fakeSystemd struct {
	path     string
	watchdog time.Duration
	conn     *net.UnixConn
	done     chan struct{}

	mu    sync.Mutex
	mains map[int]bool // the processes "systemd" started: its main PIDs
	notes []note
}

// note is one notification.
type note struct {
	pid  int
	text string
	at   time.Time
}

func newFakeSystemd(t *testing.T, watchdog time.Duration) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1) })
	if serr != nil {
		t.Fatal(serr)
	}
	sd := &fakeSystemd{path: path, watchdog: watchdog, conn: c, done: make(chan struct{}), mains: map[int]bool{}}
	go sd.read()
	t.Cleanup(func() { c.Close(); <-sd.done })
	return sd
}

// env is what systemd gives the service (no WATCHDOG_PID: the test cannot
// know the PID before the start, and tether takes its absence as "mine").
func (sd *fakeSystemd) env() []string {
	return []string{"NOTIFY_SOCKET=" + sd.path, fmt.Sprintf("WATCHDOG_USEC=%d", sd.watchdog.Microseconds())}
}

func (sd *fakeSystemd) read() {
	defer close(sd.done)
	buf, oob := make([]byte, 512), make([]byte, 512)
	for {
		n, oobn, _, _, err := sd.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		pid := -1
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if cred, err := syscall.ParseUnixCredentials(&m); err == nil {
					pid = int(cred.Pid)
				}
			}
		}
		sd.mu.Lock()
		sd.notes = append(sd.notes, note{pid: pid, text: string(buf[:n]), at: time.Now()})
		sd.mu.Unlock()
	}
}

// started records pid as a main PID.
func (sd *fakeSystemd) started(pid int) {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	sd.mains[pid] = true
}

// mark is how many notes there are, for check to look at those after.
func (sd *fakeSystemd) mark() int {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	return len(sd.notes)
}

// check checks the notes since the from'th, those of a process started
// again whose update ended in an exec (of the new binary, or of the old
// one again): every one from a main PID (NotifyAccess=main would drop the
// others); READY=1 before the exec (Type=notify: a service that has not
// said it in TimeoutStartSec is killed, and a trial takes a window) and
// again after it; WATCHDOG=1 never more than the watchdog interval apart.
func (sd *fakeSystemd) check(t *testing.T, from int) {
	t.Helper()
	time.Sleep(sd.watchdog / 2) // one more beat of the process now running
	sd.mu.Lock()
	defer sd.mu.Unlock()
	notes := sd.notes[from:]
	ready := 0
	var last time.Time
	for _, n := range notes {
		if !sd.mains[n.pid] {
			t.Fatalf("systemd heard %q from PID %d, not a main PID %v: NotifyAccess=main drops it", n.text, n.pid, sd.mains)
		}
		switch n.text {
		case "READY=1":
			ready++
		case "WATCHDOG=1":
			if !last.IsZero() && n.at.Sub(last) > sd.watchdog {
				t.Fatalf("the watchdog went unfed for %v (WatchdogSec %v): systemd would kill the device", n.at.Sub(last).Round(time.Millisecond), sd.watchdog)
			}
			last = n.at
		}
	}
	if ready < 2 || last.IsZero() {
		t.Fatalf("systemd heard READY=1 %d times (want 2: before and after the exec) and WATCHDOG=1 %v: %v", ready, !last.IsZero(), notes)
	}
}
