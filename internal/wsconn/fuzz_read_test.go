package wsconn_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/wire"
	"tether/internal/wsconn"
)

// commandServer serves the command protocol over wsconn, as the device's
// command API does, and records any panic of a connection's goroutine
// (net/http would otherwise swallow it).
func commandServer(tb testing.TB) (addr string, panicked *atomic.Value) {
	tb.Helper()
	api := cmdapi.New(cmdapi.Options{})
	api.Handle(wire.Get, "echo", func(_ context.Context, req wire.Request, reply cmdapi.Reply) error {
		reply(wire.Message{"echo": req.Args})
		return nil
	})
	panicked = new(atomic.Value)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				panicked.Store(fmt.Sprint(p))
			}
		}()
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{Options: wsconn.Options{ReadLimit: 64 << 10}})
		if err != nil {
			return
		}
		api.Serve(context.Background(), c)
	}))
	tb.Cleanup(func() { api.Close(); srv.Close() })
	return srv.Listener.Addr().String(), panicked
}

// rawSession upgrades a TCP connection to addr, writes b after the
// handshake, half-closes, and returns every frame the server sent until it
// closed, as the code of its close frame (-1 without one).
func rawSession(t *testing.T, addr string, b []byte) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", res, err)
	}
	c.Write(b) // the server may close before it has read everything
	c.(*net.TCPConn).CloseWrite()
	for {
		op, payload, err := readServerFrame(br)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
			err != nil && strings.Contains(err.Error(), "connection reset") {
			return -1
		}
		if err != nil {
			t.Fatalf("read the server's frames: %v (the server must end the connection)", err)
		}
		if op == 0x8 {
			if len(payload) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(payload))
		}
	}
}

// readServerFrame reads one unmasked server frame.
func readServerFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 || n > 1<<20 {
		return 0, nil, fmt.Errorf("bad server frame header % x (length %d)", h, n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return h[0] & 0x0f, p, err
}

// mustBe1002 reports whether b starts with a frame header that breaks RFC
// 6455 in a way the server must answer with 1002 whatever follows: an
// unmasked client frame, or a 64-bit length with its top bit set.
func mustBe1002(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[1] & 0x7f {
	case 126:
		if len(b) < 4 {
			return false // the header never ends
		}
	case 127:
		if len(b) < 10 {
			return false
		}
		if b[2]&0x80 != 0 {
			return true
		}
	}
	return b[1]&0x80 == 0
}

// frameSeeds are malformed frame headers an attacker would try first,
// each with a mask key and a little payload.
func frameSeeds() [][]byte {
	mask := []byte{1, 2, 3, 4}
	hdr := func(b ...byte) []byte { return append(append(b, mask...), 'x', 'y', 'z') }
	return [][]byte{
		hdr(0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0),                      // text, length 2^63
		hdr(0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), // binary, length 2^64-1
		hdr(0x89, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1),                      // ping, length 2^63+1
		hdr(0x81, 0xFE, 0, 5),                                           // 16-bit length under 126
		hdr(0x89, 0xFE, 0, 200),                                         // ping over 125 bytes
		hdr(0x09, 0x81),                                                 // fragmented ping
		{0x81, 0x03, 'a', 'b', 'c'},                                     // unmasked text
		{0x88, 0x02, 0x03, 0xe8},                                        // unmasked close
		hdr(0x83, 0x81),                                                 // reserved opcode 3
		hdr(0x8B, 0x81),                                                 // reserved control opcode 0xB
		hdr(0xC1, 0x81),                                                 // RSV1 without compression
		hdr(0xA1, 0x81),                                                 // RSV2
		hdr(0x80, 0x81),                                                 // continuation first
		append(hdr(0x01, 0x81), hdr(0x81, 0x81)...),                     // new message inside a fragmented one
		hdr(0x88, 0x81),                                                 // close with a one-byte payload
		hdr(0x88, 0x82, 0x03, 0xe7),                                     // close code 999
		hdr(0x81, 0x93, '[', '"', 'G', 'E', 'T', '"', ',', '"', 'e', 'c', 'h', 'o', '"', ',', '[', '1', ']', ']', ' '), // a request
		{},
	}
}

// FuzzCommandFrames feeds raw bytes, after the handshake, to the device's
// command read path (wsconn and cmdapi) over a real socket. Whatever the
// bytes, no goroutine panics, the server ends the connection, and a first
// frame that is unmasked or announces 2^63 bytes or more gets a 1002 close.
func FuzzCommandFrames(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s)
	}
	addr, panicked := commandServer(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		code := rawSession(t, addr, b)
		if p := panicked.Load(); p != nil {
			t.Fatalf("a connection's goroutine panicked on % x: %v", b, p)
		}
		if mustBe1002(b) && code != wsconn.StatusProtocol {
			t.Fatalf("frame % x: closed with %d, want 1002", b[:min(len(b), 16)], code)
		}
	})
}
