// Package benchws is the load generator's one WebSocket client: a plain
// TCP (or TLS) connection, a read buffer of a chosen size, frames read and
// written with internal/wsframe. It is as light as a client can be, so that
// what tether bench measures is the server and not the client; it answers
// pings, reassembles fragments, and holds tens of thousands of idle
// connections with a 256-byte buffer each.
//
// A Conn is read by one goroutine; WriteMessage, Pong and Close may be
// called from any goroutine.
package benchws

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tether/internal/wsframe"
)

// Options configure Dial and Handshake; the zero value works.
type Options struct {
	// Header is sent with the handshake (e.g. a bearer token).
	Header http.Header
	// Subprotocol, when set, is asked for and must be granted.
	Subprotocol string
	// ReadLimit is the largest message read; default 1 MiB.
	ReadLimit int
	// ReadBuffer is the read buffer's size; default 16 KiB. A message that
	// fits in it is handed over without a copy.
	ReadBuffer int
	// TLS configures wss:// URLs; nil means the system's roots.
	TLS *tls.Config
}

func (o Options) withDefaults() Options {
	if o.ReadLimit <= 0 {
		o.ReadLimit = 1 << 20
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 16 << 10
	}
	return o
}

// Conn is one client connection.
type Conn struct {
	c       net.Conn
	r       *bufio.Reader
	limit   int
	msg     []byte // a message reassembled or larger than the buffer
	pending int    // bytes of the last message still in r, discarded on the next read

	wmu    sync.Mutex
	wbuf   []byte
	closed bool
}

// CloseError is a close frame from the server.
type CloseError struct {
	Code   int // 0 when the frame had no code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("closed by the server (%d %q)", e.Code, e.Reason)
}

// Dial connects to a ws:// or wss:// URL within ctx and runs the handshake.
func Dial(ctx context.Context, rawURL string, o Options) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"wss": "443"}[u.Scheme]+map[string]string{"ws": "80"}[u.Scheme])
	}
	var d net.Dialer
	var c net.Conn
	switch u.Scheme {
	case "ws":
		c, err = d.DialContext(ctx, "tcp", host)
	case "wss":
		td := tls.Dialer{NetDialer: &d, Config: o.TLS}
		c, err = td.DialContext(ctx, "tcp", host)
	default:
		return nil, fmt.Errorf("dial %s: got scheme %q, want ws or wss", rawURL, u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	wc, err := Handshake(c, u, o)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	c.SetDeadline(time.Time{})
	return wc, nil
}

// Handshake runs the client side of the opening handshake for u on c, a
// connection already open to u's host.
func Handshake(c net.Conn, u *url.URL, o Options) (*Conn, error) {
	o = o.withDefaults()
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", u.RequestURI(), u.Host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if o.Subprotocol != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", o.Subprotocol)
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	r := bufio.NewReaderSize(c, o.ReadBuffer)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("read handshake: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, &StatusError{Code: resp.StatusCode}
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("handshake: got Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != o.Subprotocol {
		return nil, fmt.Errorf("handshake: got subprotocol %q, want %q", got, o.Subprotocol)
	}
	return &Conn{c: c, r: r, limit: o.ReadLimit}, nil
}

// StatusError is a handshake the server answered with another status than 101.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("handshake: got HTTP %d, want 101", e.Code)
}

// WriteMessage sends p as one message, binary or text.
func (c *Conn) WriteMessage(text bool, p []byte) error {
	op := wsframe.OpBinary
	if text {
		op = wsframe.OpText
	}
	return c.write(op, p)
}

// Pong sends a pong carrying p (at most 125 bytes).
func (c *Conn) Pong(p []byte) error { return c.write(wsframe.OpPong, p) }

// write sends one masked, final frame.
func (c *Conn) write(op byte, p []byte) error {
	key := [4]byte{}
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	b := wsframe.AppendHeader(c.wbuf[:0], true, op, len(p), &key)
	n := len(b)
	b = append(b, p...)
	wsframe.Mask(key, 0, b[n:])
	c.wbuf = b
	_, err := c.c.Write(b)
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil
	}
	return err
}

// errProtocol is a frame no server may send.
var errProtocol = errors.New("protocol error from the server")

// ReadMessage returns the next data message, answering pings and skipping
// pongs on the way; p is valid until the next call. A close frame is
// returned as *CloseError.
func (c *Conn) ReadMessage() (text bool, p []byte, err error) {
	if c.pending > 0 {
		c.r.Discard(c.pending)
		c.pending = 0
	}
	c.msg = c.msg[:0]
	var op byte
	for {
		h, err := c.header()
		if err != nil {
			return false, nil, err
		}
		switch {
		case h.Masked || h.RSV != 0:
			return false, nil, fmt.Errorf("%w: masked or reserved bits set", errProtocol)
		case h.Len > int64(c.limit) || int64(len(c.msg))+h.Len > int64(c.limit):
			return false, nil, fmt.Errorf("read message: over the %d-byte limit", c.limit)
		case h.IsControl():
			if err := c.control(h); err != nil {
				return false, nil, err
			}
			continue
		case h.Op == wsframe.OpContinuation && op == 0, h.Op != wsframe.OpContinuation && op != 0:
			return false, nil, fmt.Errorf("%w: fragments out of order", errProtocol)
		case h.Op != wsframe.OpContinuation:
			op = h.Op
		}
		n := int(h.Len)
		if h.Fin && len(c.msg) == 0 && n <= c.r.Size() {
			if p, err = c.r.Peek(n); err != nil {
				return false, nil, err
			}
			c.pending = n
			return op == wsframe.OpText, p, nil
		}
		c.msg = append(c.msg, make([]byte, n)...)
		if _, err := io.ReadFull(c.r, c.msg[len(c.msg)-n:]); err != nil {
			return false, nil, err
		}
		if h.Fin {
			return op == wsframe.OpText, c.msg, nil
		}
	}
}

// header reads the next frame header.
func (c *Conn) header() (wsframe.Header, error) {
	if b, _ := c.r.Peek(min(c.r.Buffered(), wsframe.MaxHeader)); len(b) >= 2 {
		if h, n, err := wsframe.Parse(b); n > 0 && err == nil {
			c.r.Discard(n)
			return h, nil
		}
	}
	for need := 2; ; {
		b, err := c.r.Peek(need)
		if err != nil {
			return wsframe.Header{}, err
		}
		h, n, err := wsframe.Parse(b)
		if err != nil {
			return h, fmt.Errorf("%w: %w", errProtocol, err)
		}
		if n > 0 {
			c.r.Discard(n)
			return h, nil
		}
		need = min(need+2, wsframe.MaxHeader)
	}
}

// control handles a ping (answered), a pong (skipped) or a close.
func (c *Conn) control(h wsframe.Header) error {
	if !h.Fin || h.Len > wsframe.MaxControl {
		return fmt.Errorf("%w: bad control frame", errProtocol)
	}
	var buf [wsframe.MaxControl]byte
	p := buf[:h.Len]
	if _, err := io.ReadFull(c.r, p); err != nil {
		return err
	}
	switch h.Op {
	case wsframe.OpPing:
		return c.Pong(p)
	case wsframe.OpClose:
		ce := &CloseError{}
		if len(p) >= 2 {
			ce.Code = int(binary.BigEndian.Uint16(p))
			if utf8.Valid(p[2:]) {
				ce.Reason = string(p[2:])
			}
		}
		return ce
	}
	return nil
}

// ReadLoop calls fn with every data message until the connection ends,
// and returns why; p is valid only during the call.
func (c *Conn) ReadLoop(fn func(text bool, p []byte)) error {
	for {
		text, p, err := c.ReadMessage()
		if err != nil {
			return err
		}
		fn(text, p)
	}
}

// Stream returns the payloads of the binary messages that arrive as one
// stream of bytes, for a protocol carried over WebSocket (MQTT).
func (c *Conn) Stream() io.Reader { return &stream{c: c} }

type stream struct {
	c    *Conn
	rest []byte
}

func (s *stream) Read(p []byte) (int, error) {
	for len(s.rest) == 0 {
		_, msg, err := s.c.ReadMessage()
		if err != nil {
			return 0, err
		}
		s.rest = msg
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// Close drops the connection without a handshake, resetting it (SO_LINGER
// 0) so that tens of thousands of closed connections leave no ports in
// TIME_WAIT for the next run. It may be called more than once.
func (c *Conn) Close() {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	if tc, ok := c.c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.c.Close()
}

// SetWriteDeadline bounds the writes in progress and to come.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.c.SetWriteDeadline(t) }

// CloseWith sends a close frame with code and reason, then closes.
func (c *Conn) CloseWith(code int, reason string) {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	_ = c.write(wsframe.OpClose, append(p, reason...))
	c.Close()
}
