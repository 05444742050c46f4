package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// WebSocket opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// rawConn is a WebSocket client written by hand, so tests can send frames
// no library would: unmasked, reserved opcodes, invalid UTF-8.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// rawHandshake sends an upgrade request for path with extra header lines
// and returns the response status and the connection (closed by the test's
// cleanup).
func rawHandshake(t testing.TB, addr, path string, extra ...string) (int, *rawConn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake %s%s: %v", addr, path, err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		res.Body.Close()
	}
	c.SetDeadline(time.Time{})
	return res.StatusCode, &rawConn{t: t, c: c, br: br}
}

// dialRaw upgrades or fails the test.
func dialRaw(t testing.TB, addr, path string, extra ...string) *rawConn {
	t.Helper()
	code, rc := rawHandshake(t, addr, path, extra...)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("handshake %s%s: status %d, want 101", addr, path, code)
	}
	return rc
}

// frame encodes one frame; masked as a client must unless unmasked.
func frame(fin bool, op byte, payload []byte, masked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	var key [4]byte
	rand.Read(key[:])
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// write sends raw bytes.
func (r *rawConn) write(b []byte) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// send sends one masked, final frame.
func (r *rawConn) send(op byte, payload []byte) {
	r.t.Helper()
	r.write(frame(true, op, payload, true))
}

// sendText sends a text message.
func (r *rawConn) sendText(s string) { r.t.Helper(); r.send(opText, []byte(s)) }

// readFrame reads one server frame within d.
func (r *rawConn) readFrame(d time.Duration) (op byte, payload []byte, err error) {
	r.c.SetReadDeadline(time.Now().Add(d))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 16<<20 {
		return 0, nil, fmt.Errorf("server frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, payload, nil
}

// readText returns the next text message within d, answering pings and
// skipping other frames; it fails the test on a close or an error.
func (r *rawConn) readText(d time.Duration) string {
	r.t.Helper()
	end := time.Now().Add(d)
	for {
		op, p, err := r.readFrame(time.Until(end))
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		switch op {
		case opText:
			return string(p)
		case opPing:
			r.send(opPong, p)
		case opClose:
			r.t.Fatalf("closed with %d %q, want a message", closeCode(p), p[min(2, len(p)):])
		}
	}
}

// waitText reads messages until one contains sub, within d.
func (r *rawConn) waitText(sub string, d time.Duration) string {
	r.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if m := r.readText(time.Until(end)); strings.Contains(m, sub) {
			return m
		}
	}
	r.t.Fatalf("no message containing %q within %v", sub, d)
	return ""
}

// closeCode reads the code of a close frame's payload; 1005 when it has none.
func closeCode(p []byte) int {
	if len(p) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(p))
}

// waitClose reads until the server's close frame within d and returns its
// code, or -1 when the connection ends without one.
func (r *rawConn) waitClose(d time.Duration) int {
	end := time.Now().Add(d)
	for {
		op, p, err := r.readFrame(time.Until(end))
		if err != nil {
			return -1
		}
		if op == opClose {
			return closeCode(p)
		}
	}
}
