// Package wsconn is the one wrapper over github.com/coder/websocket used on
// the device side (command API, echoserver, call-home). It sets read limits
// deliberately, gives every write its own timeout, rejects invalid UTF-8 in
// text messages with 1007, answers every frame that breaks RFC 6455 with
// 1002, and runs keepalive pings.
//
// A Conn is safe for one reader and any number of writers at once; writes
// are serialized by the underlying library.
package wsconn

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// ErrInvalidUTF8 is returned by Read for a text message that is not UTF-8,
// after the connection was closed with 1007.
var ErrInvalidUTF8 = errors.New("read: text message is not valid UTF-8")

// ErrProtocol is returned by Read for a frame that breaks RFC 6455, after
// the connection was closed with 1002.
var ErrProtocol = errors.New("read: protocol error")

// Close codes used by tether.
const (
	StatusNormal      = 1000
	StatusGoingAway   = 1001
	StatusProtocol    = 1002
	StatusInvalidData = 1007
	StatusPolicy      = 1008
	StatusTooBig      = 1009
	StatusInternal    = 1011
)

// DefaultWriteTimeout bounds one write when Options.WriteTimeout is zero.
const DefaultWriteTimeout = 10 * time.Second

// Options tune a connection. The zero value works.
type Options struct {
	// ReadLimit is the largest message accepted, in bytes; a larger one
	// closes the connection with 1009. Zero means 64 KiB.
	ReadLimit int64
	// WriteTimeout bounds each write. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Conn is a WebSocket connection.
type Conn struct {
	ws   *websocket.Conn
	opts Options
}

func wrap(ws *websocket.Conn, opts Options) *Conn {
	if opts.ReadLimit == 0 {
		opts.ReadLimit = 64 << 10
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	ws.SetReadLimit(opts.ReadLimit)
	return &Conn{ws: ws, opts: opts}
}

// AcceptOptions configure Accept.
type AcceptOptions struct {
	Options
	// OriginPatterns lists host patterns of other origins allowed to
	// connect from a browser; the request's own host is always allowed.
	OriginPatterns []string
}

// Accept upgrades an HTTP request. Cross-origin browser requests are refused
// with 403 unless their origin matches OriginPatterns.
func Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (*Conn, error) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns})
	if err != nil {
		return nil, err
	}
	return wrap(ws, opts.Options), nil
}

// DialOptions configure Dial.
type DialOptions struct {
	Options
	// Header is sent with the handshake (e.g. Authorization).
	Header http.Header
	// TLS is used for wss:// URLs; nil means the system's defaults.
	TLS *tls.Config
}

// Dial connects to a ws:// or wss:// URL.
func Dial(ctx context.Context, url string, opts DialOptions) (*Conn, error) {
	d := &websocket.DialOptions{HTTPHeader: opts.Header}
	if opts.TLS != nil {
		d.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: opts.TLS}}
	}
	ws, _, err := websocket.Dial(ctx, url, d)
	if err != nil {
		return nil, err
	}
	return wrap(ws, opts.Options), nil
}

// Read returns the next message and whether it is text. A text message that
// is not valid UTF-8 closes the connection with 1007 and returns an error.
func (c *Conn) Read(ctx context.Context) (text bool, data []byte, err error) {
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return false, nil, AnswerReadError(c.ws, err)
	}
	text = typ == websocket.MessageText
	if text && !utf8.Valid(data) {
		c.ws.Close(StatusInvalidData, "text message is not valid UTF-8")
		return false, nil, ErrInvalidUTF8
	}
	return text, data, nil
}

// Write sends a text message, within the write timeout.
func (c *Conn) Write(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageText, data)
}

// WriteBinary sends a binary message, within the write timeout.
func (c *Conn) WriteBinary(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageBinary, data)
}

// WriteMessage sends data as text or binary.
func (c *Conn) WriteMessage(ctx context.Context, text bool, data []byte) error {
	if text {
		return c.Write(ctx, data)
	}
	return c.WriteBinary(ctx, data)
}

func (c *Conn) write(ctx context.Context, typ websocket.MessageType, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, typ, data)
}

// Close runs the closing handshake with code and reason, waiting at most a
// few seconds for the peer.
func (c *Conn) Close(code int, reason string) error {
	return c.ws.Close(websocket.StatusCode(code), reason)
}

// CloseNow drops the connection without a handshake.
func (c *Conn) CloseNow() error { return c.ws.CloseNow() }

// Ping sends a ping and waits for the pong; a reader must be running.
func (c *Conn) Ping(ctx context.Context) error { return c.ws.Ping(ctx) }

// Keepalive pings every interval until ctx ends or a pong does not come
// back within the interval, then closes the connection and returns why.
// A dead peer is thus detected within two intervals.
func (c *Conn) Keepalive(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		// A ping whose context ends drops the connection without a close
		// frame; bound it by the interval only, so shutdown closes cleanly.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interval)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.ws.CloseNow()
			return errors.New("keepalive: no pong within " + interval.String())
		}
	}
}

// CloseStatus returns the close code in err, or -1 if err is not a close.
func CloseStatus(err error) int { return int(websocket.CloseStatus(err)) }
