package bench

import (
	"context"
	"net/http"

	"tether/internal/bench/benchws"
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

// wsConn is a msgConn on the load generator's WebSocket client (benchws).
type wsConn struct{ *benchws.Conn }

// dialWS opens a WebSocket to url with header, reading messages of up to
// readLimit bytes, within ctx's deadline (10 s without one).
func dialWS(ctx context.Context, url string, header http.Header, readLimit int) (wsConn, error) {
	c, err := benchws.Dial(ctx, url, benchws.Options{Header: header, ReadLimit: readLimit})
	return wsConn{c}, err
}

func (w wsConn) WriteMsg(p []byte) error { return w.WriteMessage(false, p) }
