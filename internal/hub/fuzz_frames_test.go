package hub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Length forms a seed frame's header can use, minimal or not.
const (
	len7  = iota // the length in the second byte (under 126)
	len16        // 126 and a 16-bit length
	len64        // 127 and a 64-bit length
)

// seedKey masks the seeds' payloads.
var seedKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// seedHeader encodes a frame header with first byte b0 (FIN, RSV bits,
// opcode) and payload length n written in form, masked or not.
func seedHeader(b0 byte, form int, n uint64, masked bool) []byte {
	var m byte
	if masked {
		m = 0x80
	}
	out := []byte{b0}
	switch form {
	case len7:
		out = append(out, m|byte(n&0x7f))
	case len16:
		out = binary.BigEndian.AppendUint16(append(out, m|126), uint16(n))
	default:
		out = binary.BigEndian.AppendUint64(append(out, m|127), n)
	}
	if masked {
		out = append(out, seedKey[:]...)
	}
	return out
}

// seedFrame encodes a frame of payload with its length written in form.
func seedFrame(b0 byte, form int, masked bool, payload []byte) []byte {
	out := seedHeader(b0, form, uint64(len(payload)), masked)
	for i, c := range payload {
		if masked {
			c ^= seedKey[i%4]
		}
		out = append(out, c)
	}
	return out
}

// hubFrameSeeds are the malformed headers and frames an attacker (or a
// broken client) sends first, and a few good ones to mutate from.
func hubFrameSeeds() map[string][]byte {
	text := []byte(`{"k": "v"}`)
	f := seedFrame
	cat := func(fs ...[]byte) (out []byte) {
		for _, x := range fs {
			out = append(out, x...)
		}
		return out
	}
	return map[string][]byte{
		"text":                           f(0x81, len7, true, text),
		"fragmented text":                cat(f(0x01, len7, true, text[:4]), f(0x80, len7, true, text[4:])),
		"ping":                           f(0x89, len7, true, []byte("p")),
		"close":                          f(0x88, len7, true, []byte{0x03, 0xe8}),
		"length 2^63":                    seedHeader(0x81, len64, 1<<63, true),
		"length 2^64-1":                  seedHeader(0x82, len64, 1<<64-1, true),
		"length 2^63 unmasked":           seedHeader(0x81, len64, 1<<63, false),
		"ping length 2^63":               seedHeader(0x89, len64, 1<<63, true),
		"16-bit length under 126":        f(0x81, len16, true, text),
		"64-bit length under 65536":      f(0x81, len64, true, text),
		"64-bit length just over 2^32":   seedHeader(0x82, len64, 1<<32+10, true),
		"ping over 125 bytes":            f(0x89, len16, true, make([]byte, 126)),
		"close over 125 bytes":           f(0x88, len16, true, make([]byte, 130)),
		"fragmented ping":                f(0x09, len7, true, []byte("p")),
		"ping inside a fragmented text":  cat(f(0x01, len7, true, text[:4]), f(0x89, len7, true, nil), f(0x80, len7, true, text[4:])),
		"unmasked text":                  f(0x81, len7, false, text),
		"reserved opcode 3":              f(0x83, len7, true, text),
		"reserved control opcode 0xb":    f(0x8b, len7, true, nil),
		"RSV1":                           f(0xc1, len7, true, text),
		"RSV2 and RSV3":                  f(0xb1, len7, true, text),
		"continuation first":             f(0x80, len7, true, text),
		"text inside a fragmented text":  cat(f(0x01, len7, true, text[:4]), f(0x81, len7, true, text)),
		"invalid UTF-8":                  f(0x81, len7, true, []byte{0xff, 0xfe}),
		"close code 999":                 f(0x88, len7, true, []byte{0x03, 0xe7}),
		"close with one byte":            f(0x88, len7, true, []byte{0x03}),
		"truncated 64-bit header":        seedHeader(0x81, len64, 10, true)[:6],
		"over the message limit":         seedHeader(0x82, len64, 1<<20, true),
		"good then length 2^63":          cat(f(0x81, len7, true, text), seedHeader(0x81, len64, 1<<63, true)),
		"fragments over the limit":       cat(f(0x02, len16, true, make([]byte, 800)), f(0x80, len16, true, make([]byte, 800))),
		"zero-length text, binary, pong": cat(f(0x81, len7, true, nil), f(0x82, len7, true, nil), f(0x8a, len7, true, nil)),
	}
}

// hubCutSeeds are good streams sent in two writes cut inside a header, so
// the hub reads a header in two pieces, the second holding more than the
// rest of its frame.
func hubCutSeeds() map[string]struct {
	data []byte
	cut  uint16
} {
	text := []byte(`{"k": "v"}`)
	pong, short := seedFrame(0x8a, len7, true, nil), seedFrame(0x81, len7, true, []byte("{}"))
	long := seedFrame(0x81, len16, true, make([]byte, 200))
	return map[string]struct {
		data []byte
		cut  uint16
	}{
		"pong cut after its first byte": {append(append([]byte{}, pong...), seedFrame(0x81, len7, true, text)...), 1},
		"short text cut in its key":     {append(append([]byte{}, short...), pong...), 4},
		"16-bit length cut":             {append(append([]byte{}, long...), short...), 3},
	}
}

// FuzzHubFrames sends any bytes, after a completed handshake, to the hub's
// device or page port over a real socket (in two writes a moment apart
// when cut falls inside them, so the hub reads them in two pieces), then
// ends its side of the connection. Whatever the bytes, the hub must close that connection, count
// no recovered panic, and still relay between a device and a page. It
// speaks only to the hub's listeners, so it holds for any WebSocket engine.
func FuzzHubFrames(f *testing.F) {
	for _, seed := range hubFrameSeeds() {
		f.Add(false, seed, uint16(0))
		f.Add(true, seed, uint16(0))
	}
	for _, seed := range hubCutSeeds() {
		f.Add(false, seed.data, seed.cut)
		f.Add(true, seed.data, seed.cut)
	}
	h := startHub(f, Options{MaxMessage: 1 << 10, Ping: time.Hour})
	var alive *relayPair // one per fuzzing process: a connection per input is enough
	f.Cleanup(func() { alive.close() })
	f.Fuzz(func(t *testing.T, page bool, data []byte, cut uint16) {
		addr := hostOf(h.devURL)
		if page {
			addr = hostOf(h.pageURL)
		}
		c := rawConn(t, addr, "/fuzz", 0)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		// the hub may close before it has read everything
		if int(cut) > 0 && int(cut) < len(data) {
			c.Write(data[:cut])
			time.Sleep(2 * time.Millisecond)
			data = data[cut:]
		}
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the hub still holds the connection 5 s after the client's end")
		}
		if n := h.panics.Load(); n != 0 {
			t.Fatalf("the hub recovered %d panics (see tether_hub_panics_total)", n)
		}
		if alive == nil {
			alive = newRelayPair(t, h, "fuzz-alive")
		}
		alive.check(t)
	})
}

// relayPair is a device and a page of one id, kept open across fuzz inputs.
type relayPair struct {
	dev, page *websocket.Conn
	n         int
}

func newRelayPair(t *testing.T, h *testHub, id string) *relayPair {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dev, _, err := websocket.Dial(ctx, h.devURL+id, nil)
	if err != nil {
		t.Fatalf("dial device: %v", err)
	}
	page, _, err := websocket.Dial(ctx, h.pageURL+id, nil)
	if err != nil {
		dev.CloseNow()
		t.Fatalf("dial page: %v", err)
	}
	r := &relayPair{dev: dev, page: page}
	r.expect(t, page, `{"hub/device/connected": true}`)
	return r
}

// check relays one message each way.
func (r *relayPair) check(t *testing.T) {
	r.n++
	msg := fmt.Sprintf(`{"alive": %d}`, r.n)
	r.send(t, r.dev, msg)
	r.expect(t, r.page, msg)
	r.send(t, r.page, msg)
	r.expect(t, r.dev, msg)
}

func (r *relayPair) send(t *testing.T, c *websocket.Conn, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("the hub no longer relays: send %s: %v", msg, err)
	}
}

func (r *relayPair) expect(t *testing.T, c *websocket.Conn, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("the hub no longer relays: waiting for %s: %v", want, err)
		}
		if string(b) == want {
			return
		}
	}
}

func (r *relayPair) close() {
	if r != nil {
		r.dev.CloseNow()
		r.page.CloseNow()
	}
}
