package device

import (
	"context"
	"fmt"
	"maps"

	"tether/internal/apps"
	"tether/internal/config"
)

// enterRecovery runs the recovery app, with the plan's reason, until ctx ends
// (a restart or shutdown). Recovery is restarted whenever it fails, for as
// long as it takes: there is nowhere further to fall.
func (d *Device) enterRecovery(ctx context.Context, p plan, restart func()) error {
	why := config.Describe(p.reason)
	d.setStatus(func(s *Status) { s.App, s.Attempt, s.Reason = RecoveryApp, 0, why })
	d.log.Error("entering recovery", "reason", why)
	ctor, ok := apps.Lookup(RecoveryApp)
	if !ok {
		return fmt.Errorf("enter recovery: no %q app in this binary; reason: %w", RecoveryApp, p.reason)
	}
	rp := plan{cfg: p.cfg, app: RecoveryApp, ctor: ctor, reason: p.reason, rev: p.rev}
	return d.supervise(ctx, rp, d.env(rp, restart), 0)
}

// env is what the plan's app gets.
func (d *Device) env(p plan, restart func()) *apps.Env {
	// The app's logger carries app=NAME; the parts it uses add their own
	// component=..., so no key repeats in a line.
	log := d.root.With("app", p.app)
	return &apps.Env{
		Config:           p.cfg,
		Net:              d.net.manager(),
		Logger:           log,
		Log:              d.dlog.Ring(),
		Ops:              d.ops.Session(restart, d.net.manager(), p.rev),
		Reason:           p.reason,
		Restart:          restart,
		RecoveryAddr:     d.opts.RecoveryAddr,
		RecoveryFallback: d.opts.RecoveryFallback,
		Auth:             d.auth,
		Version:          d.opts.Version,
		Ready: func(addrs map[string]string) {
			if p.app != RecoveryApp {
				d.setStatus(func(s *Status) { s.ServedBoot = s.Boots })
			}
			// Each app logs its own "serving" line with its URLs.
			if d.opts.Ready != nil {
				d.opts.Ready(p.app, maps.Clone(addrs))
			}
		},
	}
}
