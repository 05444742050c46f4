package recovery

import (
	"context"

	"tether/internal/callhome"
	"tether/internal/wsconn"
)

// callHome calls the hub when the home address can be read from the
// config, serving the command protocol over that connection exactly as on
// a local one, until ctx ends.
func (s *server) callHome(ctx context.Context) {
	if s.env.Config == nil {
		return
	}
	opts, ok, err := callhome.FromConfig(s.env.Config)
	switch {
	case err != nil:
		s.log.Warn("not calling home", "err", err)
		return
	case !ok:
		s.log.Info("not calling home: demo.home has no address, or is disabled")
		return
	}
	opts.Logger = s.log
	s.log.Info("calling home so a hub can repair the device", "url", opts.URL)
	callhome.Run(ctx, opts, func(ctx context.Context, c *wsconn.Conn) error {
		return s.cmd.Serve(ctx, homeConn{c})
	})
}

// homeConn is the call-home connection as cmdapi sees it: callhome runs
// its pings, so Keepalive is hidden, and like gentle its reads end by the
// close handshake rather than the context, and its writes by wsconn's
// timeout.
type homeConn struct{ c *wsconn.Conn }

func (h homeConn) Read(ctx context.Context) (bool, []byte, error) {
	return h.c.Read(context.WithoutCancel(ctx))
}
func (h homeConn) Write(ctx context.Context, b []byte) error {
	return h.c.Write(context.WithoutCancel(ctx), b)
}
func (h homeConn) Close(code int, reason string) error { return h.c.Close(code, reason) }
