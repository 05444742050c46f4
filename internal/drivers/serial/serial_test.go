package serial_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tether/internal/config"
	"tether/internal/drivers/serial"
	"tether/internal/tethertest"
	"tether/internal/wire"
)

// sink collects what a driver sends out.
type sink struct {
	mu   sync.Mutex
	msgs []wire.Message
}

func (s *sink) out(m wire.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// values returns every value of key sent so far.
func (s *sink) values(key string) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, m := range s.msgs {
		if v, ok := m[key]; ok {
			out = append(out, v)
		}
	}
	return out
}

// start makes a driver called uart on c's port and starts it.
func start(t *testing.T, c config.Driver) (*serial.Driver, *sink) {
	t.Helper()
	c.Name, c.Kind = "uart", "serial"
	d, err := serial.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	if err := d.Start(context.Background(), s.out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return d, s
}

// waitFor waits up to 10 s for cond, then fails saying what it waited for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after 10 s still waiting for %s", what)
		}
	}
}

// waitStatus waits for the driver's status to start with prefix.
func waitStatus(t *testing.T, d *serial.Driver, prefix string) string {
	t.Helper()
	var st string
	waitFor(t, "status "+prefix, func() bool {
		st, _ = d.State()["uart/status"].(string)
		return strings.HasPrefix(st, prefix)
	})
	return st
}

// waitLine waits for the line want from the port.
func waitLine(t *testing.T, s *sink, key, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s %q (got %v)", key, want, s.values(key)), func() bool {
		for _, v := range s.values(key) {
			if v == want {
				return true
			}
		}
		return false
	})
}

// The seed's fake-interface flow on a real port: a line sent comes back
// upper-cased from the device at the far end, "\r\n" stripped.
func TestLinesBothWays(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	d, s := start(t, config.Driver{Port: peer.Path, Baud: 115200, LineEnding: "crlf"})
	if st := waitStatus(t, d, "open"); st != "open: "+peer.Path+" at 115200 8N1" {
		t.Errorf("status = %q", st)
	}
	if err := d.Send(context.Background(), "hello tether"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, s, "uart/line", "HELLO TETHER")
	if got := peer.Received(); len(got) != 1 || got[0] != "hello tether" {
		t.Errorf("the device received %q", got)
	}
	if st := s.values("uart/status"); len(st) == 0 || !strings.HasPrefix(st[len(st)-1].(string), "open") {
		t.Errorf("status changes sent: %v", st)
	}
	if !d.Running() || d.State()["uart/running"] != true {
		t.Errorf("not running: %v", d.State())
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "uart is not running: start it first") {
		t.Errorf("Send after Stop = %v", err)
	}
	if st := d.State()["uart/status"]; st != "stopped" {
		t.Errorf("status after Stop = %v", st)
	}
}

// Unplugged, the driver says it waits for the port and refuses to send;
// plugged in again (a new pty behind the same path), it opens the port by
// itself and the flow resumes, with no restart.
func TestUnplugReplug(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	d, s := start(t, config.Driver{Port: peer.Path})
	waitStatus(t, d, "open")
	for round := range 3 {
		first := peer.Target()
		peer.Unplug()
		st := waitStatus(t, d, "waiting")
		if !strings.Contains(st, peer.Path) || !strings.Contains(st, "retrying") {
			t.Errorf("round %d: status = %q", round, st)
		}
		if err := d.Send(context.Background(), "lost"); err == nil || !strings.Contains(err.Error(), "uart is not open: waiting") {
			t.Errorf("round %d: Send while unplugged = %v", round, err)
		}
		peer.Plug()
		if peer.Target() == first {
			t.Logf("the new pty reuses %s", first)
		}
		waitStatus(t, d, "open")
		text := fmt.Sprintf("back %d", round)
		if err := d.Send(context.Background(), text); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		waitLine(t, s, "uart/line", strings.ToUpper(text))
	}
}

// A port that is not there when started is waited for.
func TestMissingPortWaits(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	peer.Unplug()
	d, s := start(t, config.Driver{Port: peer.Path})
	if st := waitStatus(t, d, "waiting"); st != "waiting: "+peer.Path+" is not there (unplugged?), retrying" {
		t.Errorf("status = %q", st)
	}
	peer.Plug()
	waitStatus(t, d, "open")
	if err := d.Send(context.Background(), "late"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, s, "uart/line", "LATE")
}

// A port held by another program is an error in the status naming the
// holder, and opens once it lets go.
func TestBusyPort(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	for _, tt := range []struct {
		name string
		hold func(fd int) error
		want string
	}{
		{"flock", func(fd int) error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) },
			fmt.Sprintf("is held by another program (pid %d, ", os.Getpid())},
		{"TIOCEXCL", func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCEXCL, 0) },
			"is held by another program (it opened it exclusively)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.OpenFile(peer.Path, os.O_RDWR|unix.O_NOCTTY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := tt.hold(int(f.Fd())); err != nil {
				t.Fatal(err)
			}
			d, _ := start(t, config.Driver{Port: peer.Path})
			st := waitStatus(t, d, "error")
			if !strings.Contains(st, tt.want) {
				t.Errorf("status = %q, want it to hold %q", st, tt.want)
			}
			unix.IoctlSetInt(int(f.Fd()), unix.TIOCNXCL, 0)
			f.Close()
			waitStatus(t, d, "open")
		})
	}
}

// A path that is not a terminal is an error, retried, never a crash.
func TestNotAPort(t *testing.T) {
	path := t.TempDir() + "/file"
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _ := start(t, config.Driver{Port: path})
	if st := waitStatus(t, d, "error"); !strings.Contains(st, "is not a serial port") {
		t.Errorf("status = %q", st)
	}
}

// A read-only port refuses to send.
func TestReadOnly(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	d, s := start(t, config.Driver{Port: peer.Path, ReadOnly: true})
	waitStatus(t, d, "open")
	if err := d.Send(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Send = %v", err)
	}
	peer.Write([]byte("from the device\n"))
	waitLine(t, s, "uart/line", "from the device")
}

// The binary-safe modes pass bytes through as hex or base64 chunks.
func TestBinaryModes(t *testing.T) {
	for _, tt := range []struct{ mode, send, want string }{
		{"hex", "6869210a", "4849210d0a"},  // "hi!\n" → "HI!\r\n"
		{"base64", "aGkhCg==", "SEkhDQo="}, // the same in base64
	} {
		t.Run(tt.mode, func(t *testing.T) {
			peer := tethertest.NewSerialPeer(t)
			d, s := start(t, config.Driver{Port: peer.Path, Mode: tt.mode})
			waitStatus(t, d, "open")
			if err := d.Send(context.Background(), tt.send); err != nil {
				t.Fatal(err)
			}
			waitLine(t, s, "uart/data", tt.want)
			peer.Write([]byte{0, 0xff, 0x0a})
			want := map[string]string{"hex": "00ff0a", "base64": "AP8K"}[tt.mode]
			waitLine(t, s, "uart/data", want)
			if err := d.Send(context.Background(), "not encoded!"); err == nil || !strings.Contains(err.Error(), "want "+tt.mode+" bytes") {
				t.Errorf("Send of bad %s = %v", tt.mode, err)
			}
		})
	}
}

// A device that stops reading makes Send fail within WriteTimeout instead
// of blocking the client; the port stays open, Stop ends promptly.
func TestStalledPortWriteTimesOut(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	d, s := start(t, config.Driver{Port: peer.Path})
	waitStatus(t, d, "open")
	peer.Stall(true)
	big := strings.Repeat("x", 1<<20)
	began := time.Now()
	err := d.Send(context.Background(), big)
	if err == nil || !strings.Contains(err.Error(), "the port took no data for 2s") {
		t.Fatalf("Send to a stalled port = %v", err)
	}
	if took := time.Since(began); took > serial.WriteTimeout+5*time.Second {
		t.Errorf("Send took %v", took)
	}
	peer.Stall(false)
	// The line cut short by the timeout ends with the next one sent.
	waitFor(t, "the stalled bytes to drain", func() bool { return d.Send(context.Background(), "") == nil })
	if err := d.Send(context.Background(), "after"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, s, "uart/line", "AFTER")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// A port that floods is passed on at max_rate lines a second at most; the
// rest are dropped, counted, and the count is sent on.
func TestFloodIsBounded(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	const rate, total = 50, 3000
	d, s := start(t, config.Driver{Port: peer.Path, MaxRate: rate})
	waitStatus(t, d, "open")
	began := time.Now()
	var flood strings.Builder
	for i := range total {
		fmt.Fprintf(&flood, "line %d\n", i)
	}
	peer.Write([]byte(flood.String()))
	var passed int
	var dropped int64
	waitFor(t, "every line passed or dropped", func() bool {
		passed = len(s.values("uart/line"))
		dropped, _ = d.State()["uart/dropped"].(int64)
		return int64(passed)+dropped == total
	})
	if most := rate + int(time.Since(began).Seconds()*rate) + 1; passed > most {
		t.Errorf("%d lines passed on in %v, want at most %d", passed, time.Since(began), most)
	}
	waitFor(t, "the dropped count sent on", func() bool {
		v := s.values("uart/dropped")
		return len(v) > 0 && v[len(v)-1] == dropped
	})
	t.Logf("%d lines: %d passed, %d dropped", total, passed, dropped)
}

// A line with no end is cut at max_line, marked, and the rest dropped up
// to its newline; the next line comes through whole.
func TestEndlessLineIsCut(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	d, s := start(t, config.Driver{Port: peer.Path, MaxLine: 64})
	waitStatus(t, d, "open")
	peer.Write([]byte(strings.Repeat("y", 1<<20)))
	waitLine(t, s, "uart/line", strings.Repeat("y", 64)+serial.Truncated)
	peer.Write([]byte("\nnext\r\n"))
	waitLine(t, s, "uart/line", "next")
	if n := len(s.values("uart/line")); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
	waitFor(t, "the truncated count", func() bool { return d.State()["uart/truncated"] == int64(1) })
}

// config check's look at a port: absent is a warning, not a port or held
// by another program an error naming the holder, free is fine.
func TestCheck(t *testing.T) {
	peer := tethertest.NewSerialPeer(t)
	file := t.TempDir() + "/file"
	os.WriteFile(file, nil, 0o644)
	check := func(port string) []config.Problem {
		return serial.Check(config.Driver{Name: "uart", Kind: "serial", Port: port})
	}
	if p := check(peer.Path); len(p) != 0 {
		t.Errorf("free port: %v", p)
	}
	if p := check("/dev/ttyNOPE9"); len(p) != 1 || !p[0].Warning ||
		p[0].String() != "app.json: uart.port: /dev/ttyNOPE9 is not there now (unplugged?): the driver waits for it and opens it when it comes" {
		t.Errorf("absent port: %v", p)
	}
	if p := check(file); len(p) != 1 || p[0].Warning || !strings.Contains(p[0].Msg, "is not a serial port: want a character device, got a regular file") {
		t.Errorf("regular file: %v", p)
	}
	holder := tethertest.HoldPort(t, peer.Path)
	p := check(peer.Path)
	want := fmt.Sprintf("%s is held by another program (pid %d, python3): the driver cannot open it until it lets go", peer.Path, holder)
	if len(p) != 1 || p[0].Warning || p[0].Msg != want {
		t.Errorf("held port: %v\nwant %s", p, want)
	}
}
