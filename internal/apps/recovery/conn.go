package recovery

import (
	"context"
	"time"

	"tether/internal/wsconn"
)

// writeGrace is how long, once shutdown starts, a write may still wait for
// a client that does not read.
const writeGrace = 1500 * time.Millisecond

// conn is a command connection as cmdapi sees it, one that cmdapi's
// context does not cut. With coder/websocket a context ending during a Read
// or Write drops the connection at once, and cmdapi hands its context to
// both; its writer, seeing that context end, would then find no connection
// to flush the last replies (a restart's) on and close with 1001. Here the
// close handshake ends the reads, and a write ends by its own deadline,
// wsconn's write timeout, or hard.
type conn struct {
	c    *wsconn.Conn
	hard context.Context
}

func (c conn) Read(ctx context.Context) (bool, []byte, error) {
	return c.c.Read(context.WithoutCancel(ctx))
}

func (c conn) Write(ctx context.Context, b []byte) error {
	wctx := c.hard
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(wctx, dl)
		defer cancel()
	}
	return c.c.Write(wctx, b)
}

func (c conn) Close(code int, reason string) error { return c.c.Close(code, reason) }

// pinging is a local client's conn, which cmdapi keeps alive with pings
// (callhome pings the hub connection itself).
type pinging struct{ conn }

func (p pinging) Keepalive(ctx context.Context, interval time.Duration) error {
	return p.c.Keepalive(ctx, interval)
}
