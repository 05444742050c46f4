package hubws

import (
	"fmt"
	"strings"
	"testing"

	"tether/internal/wsframe"
)

// nullDriver takes every write at once and drops it: the reader's tests
// look at the events, and at the close frame the connection queued.
type nullDriver struct{}

func (nullDriver) start(*conn)                 {}
func (nullDriver) write(b []byte) (int, error) { return len(b), nil }
func (nullDriver) wantWrite()                  {}
func (nullDriver) shutWrite()                  {}
func (nullDriver) abort()                      {}
func (nullDriver) later() bool                 { return false }

// eventLog is a Handler writing down what it is given.
type eventLog struct{ b strings.Builder }

func (e *eventLog) OnMessage(k Kind, p []byte) { fmt.Fprintf(&e.b, "%v %q\n", k, p) }
func (e *eventLog) OnPing(p []byte)            { fmt.Fprintf(&e.b, "ping %q\n", p) }
func (e *eventLog) OnPong(p []byte)            { fmt.Fprintf(&e.b, "pong %q\n", p) }
func (e *eventLog) OnReadWait()                {}
func (e *eventLog) OnDrain()                   {}
func (e *eventLog) OnClose(code int, reason string, err error) {
	fmt.Fprintf(&e.b, "close %d %q %v\n", code, reason, err)
}

// readAll feeds stream to a new connection in the pieces cuts make (each
// cut a length, taken in turn, 0 meaning 1) and returns what its handler
// was given, how the connection closed, and whether it panicked.
func readAll(stream []byte, cuts []byte) string {
	e := &eventLog{}
	c := &conn{h: e, max: 1 << 10, drv: nullDriver{}}
	over := false
	for i := 0; len(stream) > 0 && !over; i++ {
		n := len(stream)
		if len(cuts) > 0 {
			n = min(n, max(int(cuts[i%len(cuts)]), 1))
		}
		piece := append([]byte(nil), stream[:n]...) // the loop's buffer is reused
		stream = stream[n:]
		over = c.feed(piece)
		for j := range piece {
			piece[j] = 0xAA
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panicked != nil {
		return e.b.String() + fmt.Sprintf("PANIC %v\n%s", c.panicked.Value, c.panicked.Stack)
	}
	if c.closing {
		fmt.Fprintf(&e.b, "closed: %d over=%v\n", closeCodeOf(c.out), over)
	}
	return e.b.String()
}

// closeCodeOf is the code of the close frame at the end of out (0: none).
func closeCodeOf(out []byte) int {
	for len(out) >= 2 {
		h, n, err := wsframe.Parse(out)
		if err != nil || n == 0 || int64(len(out)) < int64(n)+h.Len {
			return -1
		}
		p := out[n : n+int(h.Len)]
		if h.Op == wsframe.OpClose && len(p) >= 2 {
			return int(p[0])<<8 | int(p[1])
		}
		out = out[n+int(h.Len):]
	}
	return 0
}

// FuzzFeedCuts: however the bytes of a stream are cut into reads, the
// reader gives the handler the same events, closes with the same code,
// and never panics, as when the stream comes in one read.
func FuzzFeedCuts(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	masked := func(op byte, p string) []byte {
		b := wsframe.AppendHeader(nil, true, op, len(p), &key)
		q := []byte(p)
		wsframe.Mask(key, 0, q)
		return append(b, q...)
	}
	cat := func(fs ...[]byte) (out []byte) {
		for _, x := range fs {
			out = append(out, x...)
		}
		return out
	}
	f.Add(cat(masked(wsframe.OpPong, ""), masked(wsframe.OpText, `{"a":1}`)), []byte{1})
	f.Add(cat(masked(wsframe.OpText, "{}"), masked(wsframe.OpPing, "p"), masked(wsframe.OpBinary, strings.Repeat("b", 200))), []byte{3, 7})
	f.Add(cat(masked(wsframe.OpText, "é"), []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), []byte{5, 1, 2})
	f.Add(cat(masked(wsframe.OpText, "x"), masked(wsframe.OpClose, "\x03\xe8bye"), masked(wsframe.OpText, "after")), []byte{2})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		if len(stream) > 4096 {
			return
		}
		whole := readAll(stream, nil)
		if strings.Contains(whole, "PANIC") {
			t.Fatalf("in one read:\n%s", whole)
		}
		if got := readAll(stream, cuts); got != whole {
			t.Fatalf("cut by %v:\n%s\nin one read:\n%s", cuts, got, whole)
		}
	})
}
