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
		return s.cmd.Serve(ctx, conn{c, s.hard}) // callhome runs the pings
	})
}
