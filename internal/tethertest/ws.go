package tethertest

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// WSWait bounds every wait of a WS (a dial, a send, one Expect) unless its
// Wait says otherwise.
const WSWait = 10 * time.Second

// WS is a test's WebSocket peer (coder/websocket, another library than the
// device's wsconn wrapper): it sends, reads with bounded waits and fails
// the test with what it saw, and is dropped when the test ends.
type WS struct {
	t testing.TB
	// Conn is the connection, for what the helpers do not cover.
	Conn *websocket.Conn
	// Wait bounds each send, Read and Expect; zero means WSWait.
	Wait time.Duration
}

func (c *WS) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), cmp.Or(c.Wait, WSWait))
}

// WSOptions configure DialWS; the zero value dials plain ws://.
type WSOptions struct {
	Header http.Header // sent with the handshake (Origin, Authorization)
	TLS    *tls.Config // for wss://
	// Subprotocols are offered in the handshake; Conn.Subprotocol says
	// which one the server granted.
	Subprotocols []string
}

// DialWS connects to url or fails the test.
func DialWS(t testing.TB, url string, opts WSOptions) *WS {
	t.Helper()
	c, _, err := TryDialWS(t, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// TryDialWS connects to url and returns the handshake's answer with any
// error, for tests of refusals.
func TryDialWS(t testing.TB, url string, opts WSOptions) (*WS, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WSWait)
	defer cancel()
	d := &websocket.DialOptions{HTTPHeader: opts.Header, Subprotocols: opts.Subprotocols}
	if opts.TLS != nil {
		d.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: opts.TLS}}
	}
	ws, resp, err := websocket.Dial(ctx, url, d)
	if err != nil {
		return nil, resp, err
	}
	return NewWS(t, ws), resp, nil
}

// T is the test the connection belongs to.
func (c *WS) T() testing.TB { return c.t }

// Send sends a text message.
func (c *WS) Send(s string) {
	c.t.Helper()
	c.write(websocket.MessageText, []byte(s))
}

// Request sends req as one JSON array, the command protocol's request:
// c.Request("CMD", "send_message", []any{"hi"}).
func (c *WS) Request(req ...any) {
	c.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		c.t.Fatalf("request %v: %v", req, err)
	}
	c.write(websocket.MessageText, b)
}

// SendBinary sends a binary message.
func (c *WS) SendBinary(b []byte) {
	c.t.Helper()
	c.write(websocket.MessageBinary, b)
}

func (c *WS) write(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := c.timeout()
	defer cancel()
	if err := c.Conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("send %.100q: %v", b, err)
	}
}

// Read returns the next message and whether it is text.
func (c *WS) Read() (text bool, msg string) {
	c.t.Helper()
	ctx, cancel := c.timeout()
	defer cancel()
	typ, b, err := c.Conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return typ == websocket.MessageText, string(b)
}

// Expect reads until a message (text or binary) satisfies ok and returns
// it; it fails the test, with the last messages seen, when none does
// within the wait.
func (c *WS) Expect(what string, ok func(msg string) bool) string {
	c.t.Helper()
	return c.ExpectMessage(what, func(_ bool, msg string) bool { return ok(msg) })
}

// ExpectMessage is Expect for a test that cares whether it is text.
func (c *WS) ExpectMessage(what string, ok func(text bool, msg string) bool) string {
	c.t.Helper()
	ctx, cancel := c.timeout()
	defer cancel()
	var seen []string
	for {
		typ, b, err := c.Conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v; last messages %.500q", what, err, seen[max(0, len(seen)-5):])
		}
		if ok(typ == websocket.MessageText, string(b)) {
			return string(b)
		}
		seen = append(seen, string(b))
	}
}

// ExpectExact reads until a message (text or binary) is exactly want.
func (c *WS) ExpectExact(want string) {
	c.t.Helper()
	c.Expect(fmt.Sprintf("%.200q", want), func(msg string) bool { return msg == want })
}

// ExpectKey reads until a JSON object has key, with the value want (any
// value when want is nil), and returns the object.
func (c *WS) ExpectKey(key string, want any) map[string]any {
	c.t.Helper()
	return c.ExpectObject(key, func(m map[string]any) bool {
		v, ok := m[key]
		return ok && (want == nil || v == want)
	})
}

// ExpectObject reads until a message is a JSON object that satisfies ok,
// and returns the object.
func (c *WS) ExpectObject(what string, ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	var obj map[string]any
	c.Expect(what, func(msg string) bool {
		var m map[string]any
		if json.Unmarshal([]byte(msg), &m) != nil || !ok(m) {
			return false
		}
		obj = m
		return true
	})
	return obj
}

// CloseStatus reads until the connection ends and returns the peer's close
// code and reason, or -1 and the error when it ended without a close frame.
func (c *WS) CloseStatus() (code int, reason string) {
	c.t.Helper()
	ctx, cancel := c.timeout()
	defer cancel()
	for {
		_, _, err := c.Conn.Read(ctx)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			c.t.Fatalf("connection still open after %v", cmp.Or(c.Wait, WSWait))
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return int(ce.Code), ce.Reason
		}
		return -1, err.Error()
	}
}

// Close closes the connection with 1000.
func (c *WS) Close() { c.Conn.Close(websocket.StatusNormalClosure, "") }

// NewWS wraps a connection the test got another way (one a server under
// test dialled to it, accepted with websocket.Accept); it is dropped when
// the test ends.
func NewWS(t testing.TB, c *websocket.Conn) *WS {
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &WS{t: t, Conn: c}
}
