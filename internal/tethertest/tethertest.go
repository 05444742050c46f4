// Package tethertest helps tests run tether as a user would: build the real
// binary once, start it on free 127.0.0.1 ports, wait for it to listen, read
// its log, and drive it from the real peers the design names (Python's
// websockets, Chromium through playwright-core).
//
// Tools that a test needs and this machine lacks skip the test with a clear
// message, except under CI (CI set), where they fail it: CI can never go
// green by skipping.
package tethertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// ProjectRoot returns the module's root folder (where go.mod is).
func ProjectRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("tethertest: no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Version is the release version the test binary is built with, so tests
// can check that what tether reports is its own version.
const Version = "v0.0.0-tethertest"

// Binary builds ./cmd/tether once per test process (with -race when the
// test runs under it, and Version as its release version) and returns its
// path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tether-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "tether")
		args := []string{"build", "-o", buildPath, "-ldflags=-X tether/internal/cli.Version=" + Version}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/tether")
		cmd := exec.Command("go", args...)
		cmd.Dir = ProjectRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/tether: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitPort waits up to d for something to listen on addr ("127.0.0.1:8080").
func WaitPort(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %v", addr, d)
}

// Proc is a running tether (or other) process whose output is captured.
type Proc struct {
	t    testing.TB
	Cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
	err  error
}

// Start runs the tether binary with args; it is killed when the test ends.
func Start(t testing.TB, args ...string) *Proc {
	t.Helper()
	return StartCmd(t, exec.Command(Binary(t), args...))
}

// StartCmd starts cmd with its output captured; it is killed when the test ends.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{t: t, Cmd: cmd, out: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(cmd.Path), p.Output())
		}
	})
	return p
}

// Output returns everything the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitOutput waits up to d for the output to contain s.
func (p *Proc) WaitOutput(s string, d time.Duration) {
	p.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if strings.Contains(p.Output(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("output lacks %q after %v:\n%s", s, d, p.Output())
}

// WaitMatch waits up to d for the output to match the regular expression
// expr and returns its submatches.
func (p *Proc) WaitMatch(expr string, d time.Duration) []string {
	p.t.Helper()
	re := regexp.MustCompile(expr)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m
		}
		if p.Exited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("output lacks %s after %v:\n%s", expr, d, p.Output())
	return nil
}

// HubAddrs waits up to d for a tether hub's "hub listening" line and
// returns the device and page endpoints it names (host:port), so a test
// starts the hub on 127.0.0.1:0 and learns the ports it really bound
// instead of racing for free ones.
func (p *Proc) HubAddrs(d time.Duration) (device, page string) {
	p.t.Helper()
	m := p.WaitMatch(`hub listening.*devices"?[=:]"?wss?://([^/"]+)/.*pages"?[=:]"?wss?://([^/"]+)/`, d)
	return m[1], m[2]
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits up to d for the process to exit and returns its exit code
// (-1 if killed by a signal); it fails the test if it is still running.
func (p *Proc) Wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("%s still running after %v", filepath.Base(p.Cmd.Path), d)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Need skips the test when a program is missing (fails under CI).
func Need(t testing.TB, programs ...string) {
	t.Helper()
	for _, prog := range programs {
		if _, err := exec.LookPath(prog); err != nil {
			Missing(t, "needs %s on this machine (make deps installs it)", prog)
		}
	}
}

// Missing skips the test, or fails it under CI, saying what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Python is Debian's interpreter, which sees Debian's python3-websockets.
const Python = "/usr/bin/python3"

// NeedPython skips (fails under CI) when Debian's python3-websockets is missing.
func NeedPython(t testing.TB) {
	t.Helper()
	if err := exec.Command(Python, "-c", "import websockets").Run(); err != nil {
		Missing(t, "needs Debian python3-websockets at %s (make deps installs it)", Python)
	}
}

// RunPython runs a Python script (source text) with args under a timeout and
// returns its combined output; a non-zero exit fails the test.
func RunPython(t testing.TB, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	out, err := TryPython(t, timeout, script, args...)
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return out
}

// TryPython is RunPython returning the error instead of failing.
func TryPython(t testing.TB, timeout time.Duration, script string, args ...string) (string, error) {
	t.Helper()
	NeedPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, append([]string{"-c", script}, args...)...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Short reports whether heavy tests should shrink (go test -short).
func Short() bool { return testing.Short() }

// Cores is the number of CPUs, for sizing load in tests.
func Cores() int { return runtime.NumCPU() }

// SyncBuffer is a bytes.Buffer safe for one writer goroutine (a process,
// a logger) and a reading test at once.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// KeepScreenshot copies the screenshot shot (a PNG a browser script wrote)
// to docs/img/name when that file is missing or TETHER_SCREENSHOTS is set,
// so the README's pictures are made by the tests without every run leaving
// the tree modified.
func KeepScreenshot(t testing.TB, shot, name string) {
	t.Helper()
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(png), err)
	}
	dst := filepath.Join(ProjectRoot(t), "docs", "img", name)
	if _, err := os.Stat(dst); err == nil && os.Getenv("TETHER_SCREENSHOTS") == "" {
		t.Logf("screenshot in %s (set TETHER_SCREENSHOTS=1 to refresh %s)", shot, dst)
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// PyLib is Python for the websockets peers of tests, to put before a
// script: recv_until(ws, pred, timeout) reads JSON objects until one
// matches pred and returns it (failing with its caller's line and the
// last few seen);
// collect_until returns every object read up to and including the match;
// req(kind, item, *args) makes a request's text.
const PyLib = `
import asyncio, json, sys, socket, time
import websockets

# The header that proves access to a device of a tethertest root
# (DevicePassword): websockets.connect(url, extra_headers=DEVICE_AUTH).
DEVICE_AUTH = ` + PythonAuth + `

async def recv_until(ws, pred, timeout=10):
    seen, line = [], sys._getframe(1).f_lineno
    async def loop():
        while True:
            raw = await ws.recv()
            msg = json.loads(raw)
            seen.append(msg)
            if isinstance(msg, dict) and pred(msg):
                return msg
    try:
        return await asyncio.wait_for(loop(), timeout)
    except asyncio.TimeoutError:
        raise SystemExit("FAIL: line %d: timed out after %s s; last messages: %r" % (line, timeout, seen[-6:]))

async def collect_until(ws, pred, timeout=10):
    got = []
    await recv_until(ws, lambda m: got.append(m) or pred(m), timeout)
    return got

def req(kind, item, *args):
    return json.dumps([kind, item, list(args)])
`
