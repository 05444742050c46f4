package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/lxzan/gws"
)

// gwsConn is a WebSocket over github.com/lxzan/gws, which reads a small
// message in about a quarter of the time coder/websocket takes
// (BenchmarkRead*), so the load generator is not what bounds a run.
type gwsConn struct {
	c *gws.Conn
	h *gwsHandler
}

// gwsHandler passes messages to fn and answers pings with their payload.
type gwsHandler struct {
	gws.BuiltinEventHandler
	fn  func(text bool, p []byte)
	err error
}

func (h *gwsHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.fn(m.Opcode == gws.OpcodeText, m.Bytes())
	m.Close()
}

func (h *gwsHandler) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (h *gwsHandler) OnClose(_ *gws.Conn, err error) { h.err = err }

// dialGWS opens a WebSocket to url with header, reading messages of up to
// readLimit bytes, within ctx's deadline (10 s without one).
func dialGWS(ctx context.Context, url string, header http.Header, readLimit int) (*gwsConn, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	h := &gwsHandler{}
	c, resp, err := gws.NewClient(h, &gws.ClientOption{Addr: url, RequestHeader: header,
		ReadMaxPayloadSize: readLimit, WriteMaxPayloadSize: readLimit, HandshakeTimeout: timeout})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	return &gwsConn{c: c, h: h}, nil
}

func (g *gwsConn) WriteMsg(p []byte) error { return g.c.WriteMessage(gws.OpcodeBinary, p) }

func (g *gwsConn) ReadLoop(fn func(bool, []byte)) error {
	g.h.fn = fn
	g.c.ReadLoop()
	return g.h.err
}

func (g *gwsConn) Close() { _ = g.c.NetConn().Close() }
