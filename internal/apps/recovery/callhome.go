package recovery

import (
	"context"
	"strings"

	"tether/internal/callhome"
)

// callHome calls the hub when the home address can be read from the
// config, serving the command protocol over that connection exactly as on
// a local one, until ctx ends. For a config that does not load, the home
// address is read as package config's Salvage decides (the broken file
// where it reads whole, else the last good .bak), and the log says which.
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
	opts.Logger, opts.Report = s.log, s.env.Ops.HomeReport
	args := []any{"url", opts.URL}
	for sec, from := range s.env.Config.Salvaged { // the config does not load
		if strings.HasSuffix(sec, ".home") { // demo.home, or the process app's
			args = append(args, "home_from", from)
		}
	}
	s.log.Info("calling home so a hub can repair the device", args...)
	callhome.RunAPI(ctx, opts, s.cmd) // callhome runs the keepalive
}
