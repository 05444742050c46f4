package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// msgConn is one message-oriented connection of the load generator.
// WriteMsg may be called from any goroutine; ReadLoop from one; Close from
// any goroutine, more than once.
type msgConn interface {
	// WriteMsg sends p as one binary message.
	WriteMsg(p []byte) error
	// ReadLoop calls fn with every message until the connection ends and
	// returns why; p is valid only during the call.
	ReadLoop(fn func(text bool, p []byte)) error
	// Close drops the connection without a handshake.
	Close()
}

// coderConn is a WebSocket over github.com/coder/websocket, read one
// message at a time. It reads and writes with a context that never ends,
// which skips the library's per-call timeout set-up; the connection is
// closed to interrupt it instead.
type coderConn struct {
	c   *websocket.Conn
	buf []byte
}

// dialCoder opens a WebSocket to url, with header and subprotocols, and a
// read limit of readLimit bytes.
func dialCoder(ctx context.Context, url string, header http.Header, readLimit int64, subprotocols ...string) (*coderConn, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, Subprotocols: subprotocols})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c.SetReadLimit(readLimit)
	return &coderConn{c: c, buf: make([]byte, 0, 512)}, nil
}

func (w *coderConn) WriteMsg(p []byte) error {
	return w.c.Write(context.Background(), websocket.MessageBinary, p)
}

// ReadMsg returns the next message; p is valid until the next call.
func (w *coderConn) ReadMsg() (text bool, p []byte, err error) {
	typ, r, err := w.c.Reader(context.Background())
	if err != nil {
		return false, nil, err
	}
	b := w.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, nil, err
		}
	}
	w.buf = b
	return typ == websocket.MessageText, b, nil
}

func (w *coderConn) ReadLoop(fn func(bool, []byte)) error {
	for {
		text, p, err := w.ReadMsg()
		if err != nil {
			return err
		}
		fn(text, p)
	}
}

func (w *coderConn) Close() { _ = w.c.CloseNow() }
