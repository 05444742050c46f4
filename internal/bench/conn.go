package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// msgConn is one message-oriented connection of the load generator.
// WriteMsg and ReadMsg may be called from two goroutines at once, but each
// from only one; Close may be called from any goroutine, more than once.
type msgConn interface {
	// WriteMsg sends p as one binary message.
	WriteMsg(p []byte) error
	// ReadMsg returns the next message; p is valid until the next call.
	ReadMsg() (text bool, p []byte, err error)
	// Close drops the connection without a handshake.
	Close()
}

// wsConn is a msgConn over github.com/coder/websocket. It reads and writes
// with a context that never ends, which skips the library's per-call
// timeout set-up; the connection is closed to interrupt it instead.
type wsConn struct {
	c   *websocket.Conn
	buf []byte
}

// dialWS opens a WebSocket to url, with header and subprotocols, and a read
// limit of readLimit bytes.
func dialWS(ctx context.Context, url string, header http.Header, readLimit int64, subprotocols ...string) (*wsConn, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, Subprotocols: subprotocols})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c.SetReadLimit(readLimit)
	return &wsConn{c: c, buf: make([]byte, 0, 512)}, nil
}

func (w *wsConn) WriteMsg(p []byte) error {
	return w.c.Write(context.Background(), websocket.MessageBinary, p)
}

func (w *wsConn) ReadMsg() (bool, []byte, error) {
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

func (w *wsConn) Close() { _ = w.c.CloseNow() }
