package bench

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// idleConn is a WebSocket client as small as can be, for holding tens of
// thousands of idle connections: a TCP connection, a 256-byte read
// buffer, and one goroutine that answers pings and notices the close.
type idleConn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex // serialises pongs with Close
}

// handshakeIdle runs the client side of the opening handshake on c for u,
// asking for subprotocol when it is not "".
func handshakeIdle(c net.Conn, u *url.URL, header http.Header, subprotocol string) (*idleConn, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", u.RequestURI(), u.Host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if subprotocol != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", subprotocol)
	}
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	r := bufio.NewReaderSize(c, 256)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("read handshake: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("handshake: got HTTP %d, want 101", resp.StatusCode)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("handshake: got Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return &idleConn{c: c, r: r}, nil
}

// errClosedByPeer is a close frame from the server.
var errClosedByPeer = errors.New("closed by the server")

// run reads frames until the connection ends, answering each ping with a
// pong and discarding everything else.
func (ic *idleConn) run() error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(ic.r, hdr[:2]); err != nil {
			return err
		}
		op, n := hdr[0]&0x0f, uint64(hdr[1]&0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(ic.r, hdr[:2]); err != nil {
				return err
			}
			n = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(ic.r, hdr[:8]); err != nil {
				return err
			}
			n = binary.BigEndian.Uint64(hdr[:8])
		}
		if op == 0x9 && n <= 125 { // ping
			payload := make([]byte, n)
			if _, err := io.ReadFull(ic.r, payload); err != nil {
				return err
			}
			if err := ic.pong(payload); err != nil {
				return err
			}
			continue
		}
		if _, err := ic.r.Discard(int(n)); err != nil {
			return err
		}
		if op == 0x8 {
			return errClosedByPeer
		}
	}
}

// pong sends a pong frame carrying payload (at most 125 bytes).
func (ic *idleConn) pong(payload []byte) error { return ic.write(0xA, payload) }

// write sends one masked, final frame of opcode op carrying payload (at
// most 125 bytes).
func (ic *idleConn) write(op byte, payload []byte) error {
	frame := make([]byte, 0, 6+len(payload))
	frame = append(frame, 0x80|op, 0x80|byte(len(payload)))
	var mask [4]byte
	rand.Read(mask[:])
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	_, err := ic.c.Write(frame)
	return err
}

// Close resets the connection (SO_LINGER 0), so that tens of thousands of
// closed connections leave no ports in TIME_WAIT for the next run.
func (ic *idleConn) Close() {
	if tc, ok := ic.c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	ic.c.Close()
}
