package hubws

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Handler that echoes data messages and answers pings.
type recorder struct {
	c      Conn
	mu     sync.Mutex
	closed chan struct{}
	code   int
	err    error
	drains chan struct{}
}

func (r *recorder) OnMessage(kind Kind, p []byte) { r.c.Write(kind, append([]byte(nil), p...)) }
func (r *recorder) OnPing(p []byte)               { r.c.Pong(append([]byte(nil), p...)) }
func (r *recorder) OnPong([]byte)                 {}
func (r *recorder) OnReadWait()                   {}
func (r *recorder) OnDrain() {
	select {
	case r.drains <- struct{}{}:
	default:
	}
}
func (r *recorder) OnClose(code int, _ string, err error) {
	r.mu.Lock()
	r.code, r.err = code, err
	r.mu.Unlock()
	close(r.closed)
}

// echoServer upgrades every request with hubws and echoes.
func echoServer(t *testing.T, opts Options) (addr string, last func() *recorder) {
	t.Helper()
	h, last := echoHandler(t, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // before echoHandler's wait (cleanups run last first)
	return strings.TrimPrefix(srv.URL, "http://"), last
}

// echoHandler is echoServer's handler; the test waits for its connections.
func echoHandler(t *testing.T, opts Options) (http.Handler, func() *recorder) {
	up := NewUpgrader(opts)
	var mu sync.Mutex
	var rec *recorder
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// counted before the upgrade, while the server still waits for
		// this request: wg.Wait never starts before this Add
		wg.Add(1)
		h := &recorder{closed: make(chan struct{}), drains: make(chan struct{}, 1)}
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			wg.Done()
			return
		}
		h.c = c
		mu.Lock()
		rec = h
		mu.Unlock()
		c.Start(wg.Done)
	}), func() *recorder { mu.Lock(); defer mu.Unlock(); return rec }
}

// rawClient speaks WebSocket frames by hand.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return handshake(t, c, addr)
}

// handshake opens a WebSocket on c, a connection to addr.
func handshake(t *testing.T, c net.Conn, addr string) *rawClient {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{t: t, c: c, br: br}
}

// frame writes one frame; masked unless told not to.
func (r *rawClient) frame(fin bool, op byte, payload []byte, masked bool) {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0, 0}
	switch n := len(payload); {
	case n < 126:
		h[1] = byte(n)
	case n < 1<<16:
		h[1] = 126
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h[1] = 127
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if masked {
		h[1] |= 0x80
		key := []byte{1, 2, 3, 4}
		h = append(h, key...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	if _, err := r.c.Write(append(h, p...)); err != nil {
		r.t.Fatalf("write frame: %v", err)
	}
}

// next reads one frame from the server.
func (r *rawClient) next() (op byte, payload []byte) {
	r.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		r.t.Fatalf("read payload: %v", err)
	}
	return h[0] & 0x0f, payload
}

// closeCode reads frames until a close frame and returns its code.
func (r *rawClient) closeCode() int {
	r.t.Helper()
	for {
		op, p := r.next()
		if op == 8 {
			if len(p) < 2 {
				return 0
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

func TestProtocolErrorsClose(t *testing.T) {
	addr, _ := echoServer(t, Options{MaxMessage: 1000})
	tests := []struct {
		name string
		send func(r *rawClient)
		want int
	}{
		{"unmasked client frame", func(r *rawClient) { r.frame(true, 1, []byte("hi"), false) }, CodeProtocolError},
		{"reserved opcode", func(r *rawClient) { r.frame(true, 3, []byte("hi"), true) }, CodeProtocolError},
		{"fragmented ping", func(r *rawClient) { r.frame(false, 9, []byte("p"), true) }, CodeProtocolError},
		{"ping over 125 bytes", func(r *rawClient) { r.frame(true, 9, make([]byte, 126), true) }, CodeProtocolError},
		{"continuation without a start", func(r *rawClient) { r.frame(true, 0, []byte("x"), true) }, CodeProtocolError},
		{"invalid UTF-8", func(r *rawClient) { r.frame(true, 1, []byte{0xff, 0xfe}, true) }, CodeInvalidPayload},
		{"invalid UTF-8 across fragments", func(r *rawClient) {
			r.frame(false, 1, []byte{'a', 0xe2}, true)
			r.frame(true, 0, []byte{'b'}, true)
		}, CodeInvalidPayload},
		{"message over the limit", func(r *rawClient) { r.frame(true, 2, make([]byte, 1001), true) }, CodeTooBig},
		// gws v1.8.9 panics on this one (a negative length); the guard closes first.
		{"64-bit length with the top bit set", func(r *rawClient) {
			r.c.Write([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
		}, CodeProtocolError},
		{"64-bit length of 2^64-1", func(r *rawClient) {
			r.c.Write([]byte{0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
		}, CodeProtocolError},
		{"ping with the top bit set", func(r *rawClient) {
			r.c.Write([]byte{0x89, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
		}, CodeProtocolError},
		{"64-bit length over the limit, after a good frame", func(r *rawClient) {
			r.frame(true, 1, []byte("ok"), true)
			r.c.Write([]byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4})
		}, CodeTooBig},
		{"fragments over the limit", func(r *rawClient) {
			r.frame(false, 2, make([]byte, 600), true)
			r.frame(true, 0, make([]byte, 600), true)
		}, CodeTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, addr)
			tt.send(r)
			if got := r.closeCode(); got != tt.want {
				t.Errorf("close code %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFramesThatWork(t *testing.T) {
	addr, last := echoServer(t, Options{MaxMessage: 1000})
	r := dialRaw(t, addr)
	r.frame(false, 1, []byte("frag"), true)
	r.frame(true, 9, []byte("between"), true) // a ping between fragments is allowed
	r.frame(true, 0, []byte("mented é"), true)
	if op, p := r.next(); op != 10 || string(p) != "between" {
		t.Errorf("got op %d %q, want the pong", op, p)
	}
	if op, p := r.next(); op != 1 || string(p) != "fragmented é" {
		t.Errorf("got op %d %q, want the reassembled text", op, p)
	}
	r.frame(true, 2, []byte{0, 1, 2}, true)
	if op, p := r.next(); op != 2 || string(p) != "\x00\x01\x02" {
		t.Errorf("got op %d %q, want the binary echo", op, p)
	}
	r.frame(true, 8, append(binary.BigEndian.AppendUint16(nil, 1000), "bye"...), true)
	if got := r.closeCode(); got != 1000 {
		t.Errorf("close answered with %d, want 1000", got)
	}
	rec := last()
	<-rec.closed
	if rec.code != 1000 {
		t.Errorf("OnClose code %d, want 1000", rec.code)
	}
}

func TestHeldWritesGoTogether(t *testing.T) {
	addr, last := echoServer(t, Options{})
	r := dialRaw(t, addr)
	r.frame(true, 1, []byte("start"), true)
	r.next()
	c := last().c
	c.Hold()
	for i := range 100 {
		if err := c.Write(Text, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, p := r.next(); string(p) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q", i, p)
		}
	}
	c.Close(CodeGoingAway, "bye")
	if got := r.closeCode(); got != CodeGoingAway {
		t.Errorf("close code %d, want 1001", got)
	}
}

func TestPreparedFramesAndNothingAfterClose(t *testing.T) {
	addr, last := echoServer(t, Options{})
	r := dialRaw(t, addr)
	r.frame(true, 1, []byte("start"), true)
	r.next()
	c := last().c
	for _, tt := range []struct {
		kind Kind
		size int
	}{{Text, 5}, {Binary, 300}, {Text, 70000}} {
		p := []byte(strings.Repeat("y", tt.size))
		if err := c.WritePrepared(Prepare(tt.kind, p)); err != nil {
			t.Fatal(err)
		}
		if op, got := r.next(); op != byte(tt.kind) || len(got) != tt.size {
			t.Errorf("prepared %v of %d bytes: got op %d, %d bytes", tt.kind, tt.size, op, len(got))
		}
	}
	c.Close(CodeNormal, "")
	if err := c.WritePrepared(Prepare(Text, []byte("late"))); err == nil {
		t.Error("a frame was written after the close frame")
	}
	if got := r.closeCode(); got != CodeNormal {
		t.Errorf("close code %d", got)
	}
}

// maskedFrame encodes one final client frame.
func maskedFrame(op byte, payload []byte) []byte {
	key := [4]byte{9, 8, 7, 6}
	var b []byte
	if n := len(payload); n < 126 {
		b = []byte{0x80 | op, 0x80 | byte(n)}
	} else {
		b = binary.BigEndian.AppendUint16([]byte{0x80 | op, 0x80 | 126}, uint16(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// A client's frames arrive in whatever pieces TCP cuts them into: a header
// cut anywhere, followed in the same read by a short frame's rest and the
// next frame, is read as the client sent it. (A header completed by a read
// holding more than the frame's rest used to make the reader slice with a
// negative length: a recovered panic and 1011 for a client that did
// nothing wrong.)
func TestFramesCutAnywhere(t *testing.T) {
	addr, _ := echoServer(t, Options{MaxMessage: 1000})
	var stream []byte
	var want []string
	for _, f := range []struct {
		op byte
		p  string
	}{{10, ""}, {1, "a"}, {9, "pi"}, {1, "short"}, {2, strings.Repeat("b", 200)}, {10, "x"}, {1, "é"}} {
		stream = append(stream, maskedFrame(f.op, []byte(f.p))...)
		switch f.op {
		case 1, 2:
			want = append(want, f.p)
		case 9:
			want = append(want, "pong "+f.p)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(stream))
	for cut := 1; cut < len(stream); cut++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendCut(addr, stream, cut, want)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// sendCut writes stream in two writes cut at cut, 50 ms apart, and reads
// the echoes.
func sendCut(addr string, stream []byte, cut int, want []string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		return fmt.Errorf("cut at %d: handshake: %v %v", cut, resp, err)
	}
	c.Write(stream[:cut])
	time.Sleep(50 * time.Millisecond)
	c.Write(stream[cut:])
	for i, w := range want {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return fmt.Errorf("cut at %d: reading echo %d: %v", cut, i, err)
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			var l [2]byte
			io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return fmt.Errorf("cut at %d: reading echo %d: %v", cut, i, err)
		}
		got := string(p)
		switch h[0] & 0x0f {
		case 8:
			return fmt.Errorf("cut at %d: closed with %d %q before echo %d", cut, binary.BigEndian.Uint16(p), p[2:], i)
		case 10:
			got = "pong " + got
		}
		if got != w {
			return fmt.Errorf("cut at %d: echo %d is %q, want %q", cut, i, got, w)
		}
	}
	return nil
}
