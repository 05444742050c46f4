// Package wsconn is the one wrapper over github.com/coder/websocket, used
// by everything on the device side and by tether ws. It sets read limits
// deliberately, gives every write its own timeout, rejects invalid UTF-8 in
// text messages with 1007, answers every frame that breaks RFC 6455 with
// 1002, and runs keepalive pings.
//
// Who uses which WebSocket code (a test in this package checks the imports
// against this map):
//
//   - wsconn (coder/websocket): the command API's transports, accepted by
//     web (the demo's page port) and apps/recovery, dialled by callhome
//     (which serves the command API on it: RunAPI); the
//     echoserver app (ReadInto, one buffer per connection); wsclient
//     (tether ws, whose -v frame log wraps the connections it dials). No
//     other package of the program imports coder/websocket.
//   - hub/hubws (an event loop of its own on wsframe, a frame codec of
//     tether's): the hub's device and page endpoints, used by hub only,
//     behind an interface so the engine can change.
//   - bench/benchws (wsframe too): tether bench's load-generating client,
//     used by bench and bench/mqtt.
//   - wsframe alone: wsclient's -v frame log reads the frames it prints
//     with the same codec.
//
// Every server tells an upgrade from a plain request with wsframe.IsUpgrade
// (hub, web, recovery, and devtls's answer to plain HTTP on a TLS port).
//
// Tests talk to these as an outside peer would, through tethertest.WS (on
// coder/websocket, but not through wsconn) or Python's websockets.
//
// Contexts: coder/websocket drops a connection at once, without a close
// frame, when the context of a pending Read or Write ends (or a Write
// starts on an ended one). A Conn never lets that happen: Read ends when a
// message arrives or the connection closes, whatever its context does;
// Write ends when the message is written, the write timeout or the
// context's deadline passes, or the connection closes. So an owner that
// wants a connection to end closes it: Close (with a handshake, which also
// ends the reader) or CloseNow (dropped). The owner of a transport also
// runs its keepalive, beside whatever serves it (WithKeepalive).
//
// A Conn is safe for one reader and any number of writers at once; writes
// are serialized by the underlying library.
package wsconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"tether/internal/ticks"
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

// DefaultPingInterval is the keepalive interval tether's device side uses
// for its clients (web, recovery): a dead one is noticed within 40 s.
const DefaultPingInterval = 20 * time.Second

// Options tune a connection. The zero value works.
type Options struct {
	// ReadLimit is the largest message accepted, in bytes; a larger one
	// closes the connection with 1009. Zero means 64 KiB.
	ReadLimit int64
	// WriteTimeout bounds each write. Zero means DefaultWriteTimeout;
	// negative sets none, leaving it to the context given to each write
	// (for a hot path that must not start a timer per message).
	WriteTimeout time.Duration
}

// Conn is a WebSocket connection.
type Conn struct {
	ws     *websocket.Conn
	raw    net.Conn // under ws, for CloseNow during a close handshake
	opts   Options
	noPong atomic.Pointer[error] // set by Keepalive before it drops the connection
}

func wrap(ws *websocket.Conn, raw net.Conn, opts Options) *Conn {
	if opts.ReadLimit == 0 {
		opts.ReadLimit = 64 << 10
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	ws.SetReadLimit(opts.ReadLimit)
	return &Conn{ws: ws, raw: raw, opts: opts}
}

// AcceptOptions configure Accept.
type AcceptOptions struct {
	Options
	// OriginPatterns lists host patterns of other origins allowed to
	// connect from a browser; the request's own host is always allowed.
	OriginPatterns []string
}

// ServeContext is the context a server serves r's upgraded connection
// under: it ends when server ends (the server shuts down) or when r's own
// context does (a guard in front of the handler ended it: the device
// password the connection was opened with changed), with r's cause.
// stop releases it.
func ServeContext(server context.Context, r *http.Request) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(server)
	req := r.Context()
	after := context.AfterFunc(req, func() { cancel(context.Cause(req)) })
	return ctx, func() { after(); cancel(nil) }
}

// Accept upgrades an HTTP request. Cross-origin browser requests are refused
// with 403 unless their origin matches OriginPatterns.
func Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (*Conn, error) {
	rec := &hijackRecorder{ResponseWriter: w}
	ws, err := websocket.Accept(rec, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns})
	if err != nil {
		return nil, err
	}
	return wrap(ws, rec.conn, opts.Options), nil
}

// hijackRecorder keeps the connection websocket.Accept hijacks.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hijacks the request's connection and keeps it.
func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack: the response writer cannot hijack")
	}
	c, brw, err := hj.Hijack()
	h.conn = c
	return c, brw, err
}

// Subprotocol is the subprotocol the server granted, "" for none.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Read returns the next message and whether it is text. A text message that
// is not valid UTF-8 closes the connection with 1007 and returns an error.
// ctx ending does not end Read (see the package doc): closing does.
func (c *Conn) Read(ctx context.Context) (text bool, data []byte, err error) {
	typ, data, err := c.ws.Read(context.WithoutCancel(ctx))
	if err != nil {
		return false, nil, c.readError(err)
	}
	text = typ == websocket.MessageText
	if text && !utf8.Valid(data) {
		c.ws.Close(StatusInvalidData, "text message is not valid UTF-8")
		return false, nil, ErrInvalidUTF8
	}
	return text, data, nil
}

// readError is what a read returns for err: the keepalive's error when it
// dropped the connection, else err answered (see AnswerReadError).
func (c *Conn) readError(err error) error {
	if ke := c.noPong.Load(); ke != nil {
		return *ke
	}
	return AnswerReadError(c.ws, err)
}

// ReadInto reads the next message into buf's storage, growing it as the
// message needs, and returns the message (which may be buf's storage or
// a larger one) and whether it is text. It is Read for a loop that reuses
// one buffer instead of allocating a message each time; what Read checks,
// it checks.
func (c *Conn) ReadInto(ctx context.Context, buf []byte) (text bool, data []byte, err error) {
	typ, r, err := c.ws.Reader(context.WithoutCancel(ctx))
	if err != nil {
		return false, buf[:0], c.readError(err)
	}
	data = buf[:0]
	for {
		if len(data) == cap(data) {
			data = slices.Grow(data, max(len(data), 512))
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, data[:0], c.readError(err)
		}
	}
	text = typ == websocket.MessageText
	if text && !utf8.Valid(data) {
		c.ws.Close(StatusInvalidData, "text message is not valid UTF-8")
		return false, data[:0], ErrInvalidUTF8
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

// write writes on a context that ends only by ctx's deadline or the write
// timeout, never by ctx's cancellation (see the package doc).
func (c *Conn) write(ctx context.Context, typ websocket.MessageType, data []byte) error {
	wctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(wctx, dl)
		defer cancel()
	}
	if c.opts.WriteTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, c.opts.WriteTimeout)
		defer cancel()
	}
	return c.ws.Write(wctx, typ, data)
}

// Close runs the closing handshake with code and reason, waiting at most a
// few seconds for the peer.
func (c *Conn) Close(code int, reason string) error {
	return c.ws.Close(websocket.StatusCode(code), reason)
}

// CloseNow drops the connection without a handshake, at once, even while a
// Close is waiting for the peer (which coder/websocket's CloseNow alone
// would wait for).
func (c *Conn) CloseNow() error {
	if c.raw != nil {
		c.raw.Close()
	}
	return c.ws.CloseNow()
}

// Ping sends a ping and waits for the pong; a reader must be running.
func (c *Conn) Ping(ctx context.Context) error { return c.ws.Ping(ctx) }

// ErrNoPong is returned by Keepalive when a pong did not come back in time.
var ErrNoPong = errors.New("keepalive: no pong")

// Keepalive pings every interval until ctx ends or a ping fails, then
// closes the connection and returns why: ErrNoPong (wrapped) when a pong
// did not come back within the interval, so a dead peer is detected within
// two intervals, and the reader's Read returns that error too; another
// error when the connection had ended.
func (c *Conn) Keepalive(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	for range ticks.Every(ctx, interval) {
		// A ping whose context ends drops the connection without a close
		// frame; bound it by the interval only, so shutdown closes cleanly.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interval)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w within %v", ErrNoPong, interval)
				c.noPong.Store(&err)
			} else {
				err = fmt.Errorf("keepalive: %w", err)
			}
			c.ws.CloseNow()
			return err
		}
	}
	return ctx.Err()
}

// WithKeepalive runs serve with Keepalive pinging every interval beside it
// (none when interval is not positive) until serve returns, then stops
// the pings. It returns the keepalive's error when a missing pong dropped
// the connection (which ended serve's reads), else serve's.
func (c *Conn) WithKeepalive(ctx context.Context, interval time.Duration, serve func() error) error {
	if interval <= 0 {
		return serve()
	}
	kctx, cancel := context.WithCancel(ctx)
	var kaErr error
	var wg sync.WaitGroup
	wg.Go(func() { kaErr = c.Keepalive(kctx, interval) })
	err := serve()
	cancel()
	wg.Wait()
	if errors.Is(kaErr, ErrNoPong) {
		return kaErr
	}
	return err
}

// CloseStatus returns the close code in err, or -1 if err is not a close.
func CloseStatus(err error) int { return int(websocket.CloseStatus(err)) }

// CloseReason returns the code and reason of the peer's close frame in err
// (an error from Read), and false when err is not a close.
func CloseReason(err error) (code int, reason string, ok bool) {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return -1, "", false
	}
	return int(ce.Code), ce.Reason, true
}
