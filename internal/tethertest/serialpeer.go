package tethertest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SerialPeer stands for a device on a serial port, as the seed's fake
// interface does in hardware: the far end of a real pseudo-terminal pair
// that upper-cases each line it receives and writes it back ending in
// "\r\n", as an Arduino's println does. Path is a symlink to the port end
// (as /dev/serial/by-id/… names are): Unplug closes the far end and removes
// the link, as pulling a USB adapter does; Plug makes a new pair and
// points the link at it.
type SerialPeer struct {
	// Path is the port to configure: a symlink to the current pty.
	Path string

	t        testing.TB
	mu       sync.Mutex
	master   *os.File
	slave    *os.File // kept open so the master's reads do not fail before tether opens the port
	wg       sync.WaitGroup
	received []string
	stalled  bool
	unstall  *sync.Cond // on mu
}

// NewSerialPeer makes a plugged-in peer; it is unplugged when the test ends.
func NewSerialPeer(t testing.TB) *SerialPeer {
	t.Helper()
	dir, err := os.MkdirTemp("", "tty") // short: the path shows in statuses
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &SerialPeer{t: t, Path: filepath.Join(dir, "ttyACM0")}
	p.unstall = sync.NewCond(&p.mu)
	p.Plug()
	t.Cleanup(p.Unplug)
	return p
}

// Plug makes a new pseudo-terminal pair and points Path at its port end.
func (p *SerialPeer) Plug() {
	p.t.Helper()
	master, slavePath, err := openPTY()
	if err != nil {
		p.t.Fatalf("serial peer: %v", err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		p.t.Fatalf("serial peer: open %s: %v", slavePath, err)
	}
	tmp := p.Path + ".new"
	os.Remove(tmp)
	if err := os.Symlink(slavePath, tmp); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(tmp, p.Path); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.master, p.slave = master, slave
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.answer(master) }()
}

// Unplug closes the far end (the port's reader sees a hangup) and
// removes Path. Unplugging an unplugged peer does nothing.
func (p *SerialPeer) Unplug() {
	p.mu.Lock()
	m, s := p.master, p.slave
	p.master, p.slave = nil, nil
	p.unstall.Broadcast()
	p.mu.Unlock()
	if m == nil {
		return
	}
	os.Remove(p.Path)
	m.Close()
	s.Close()
	p.wg.Wait()
}

// Target is the pty Path points at now ("/dev/pts/7").
func (p *SerialPeer) Target() string {
	target, _ := os.Readlink(p.Path)
	return target
}

// Write writes b to the port as the device would send it.
func (p *SerialPeer) Write(b []byte) {
	p.t.Helper()
	p.mu.Lock()
	m := p.master
	p.mu.Unlock()
	if m == nil {
		p.t.Fatal("serial peer: Write while unplugged")
	}
	if _, err := m.Write(b); err != nil {
		p.t.Fatalf("serial peer: write: %v", err)
	}
}

// Stall stops reading the port, so that its buffers fill as with a device
// that stopped reading, or with on false starts again.
func (p *SerialPeer) Stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = on
	if p.master == nil {
		return
	}
	if on {
		p.master.SetReadDeadline(time.Unix(1, 0)) // ends a read in progress
		return
	}
	p.master.SetReadDeadline(time.Time{})
	p.unstall.Broadcast()
}

// Received returns the lines the peer has read so far.
func (p *SerialPeer) Received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.received...)
}

// answer upper-cases each line read from master until it is closed.
func (p *SerialPeer) answer(master *os.File) {
	r := bufio.NewReader(master)
	var line []byte
	for p.waitUnstalled(master) {
		part, err := r.ReadBytes('\n')
		line = append(line, part...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		p.mu.Lock()
		p.received = append(p.received, string(line))
		p.mu.Unlock()
		master.Write(append(bytes.ToUpper(line), '\r', '\n'))
		line = line[:0]
	}
}

// waitUnstalled waits while the peer is stalled; false when master was
// unplugged meanwhile.
func (p *SerialPeer) waitUnstalled(master *os.File) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && p.master == master {
		p.unstall.Wait()
	}
	return p.master == master
}

// openPTY opens a new pseudo-terminal pair and returns its master, left
// non-blocking so that Close ends a read in progress, and its port's path.
func openPTY() (*os.File, string, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open /dev/ptmx: %w", err)
	}
	rc, err := master.SyscallConn()
	if err != nil {
		master.Close()
		return nil, "", err
	}
	var n uint32
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
			n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		}
	})
	if err = cmp.Or(err, ioErr); err != nil {
		master.Close()
		return nil, "", fmt.Errorf("unlock pty: %w", err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n), nil
}

// HoldPort runs Python holding an flock(2) lock on path, as another program
// using the port would (picocom, pyserial with exclusive=True), until the
// test ends; it returns the holder's pid.
func HoldPort(t testing.TB, path string) int {
	t.Helper()
	Need(t, Python)
	cmd := exec.Command(Python, "-c", `import fcntl, sys
f = open(sys.argv[1], "rb", buffering=0)
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()`, path)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("python holding %s: %q, %v", path, line, err)
	}
	return cmd.Process.Pid
}
