package device

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"tether/internal/apps"
	"tether/internal/config"
)

// RecoveryApp is the name of the app the device falls back to.
const RecoveryApp = "recovery"

// plan is what one boot decided to run.
type plan struct {
	cfg    *config.Config // never nil: loaded, or what could be salvaged
	app    string
	ctor   apps.Constructor
	reason error // non-nil: go to recovery with this reason
	rev    int64 // ops.Service.Revision before the config was loaded
}

// boot loads the config, brings the network up for it and looks up the
// app. Any failure is the plan's reason for recovery.
func (d *Device) boot(ctx context.Context) plan {
	d.setStatus(func(s *Status) { s.Boots++; s.Reason = "" })
	rev := d.ops.Revision()
	cfg, err := d.load()
	if nerr := d.startNetwork(ctx, cfg); nerr != nil && err == nil {
		err = nerr
	}
	if err != nil {
		return plan{cfg: cfg, reason: err, rev: rev}
	}
	name := cfg.App.Name
	if name == RecoveryApp {
		return plan{cfg: cfg, reason: fmt.Errorf("%s names the %q app", config.AppFile, RecoveryApp), rev: rev}
	}
	ctor, ok := apps.For(&cfg.App) // a process app when its section holds "exec"
	if !ok {
		return plan{cfg: cfg, reason: fmt.Errorf("unknown app %q; registered: %s", name, strings.Join(apps.Names(), ", ")), rev: rev}
	}
	return plan{cfg: cfg, app: name, ctor: ctor, rev: rev}
}

// load reads the device root, or the embedded defaults without one. When
// the root does not load, it returns, with the error, the settings
// recovery needs read as well as they can be (config.Salvage), and logs
// where each came from.
func (d *Device) load() (*config.Config, error) {
	if d.opts.Root == "" {
		d.log.Info("no device root: using the embedded default config")
		return config.Default(), nil
	}
	cfg, problems, err := apps.ConfigChecks().Load(d.opts.Root)
	for _, p := range problems {
		if p.Warning {
			d.log.Warn("config: " + p.String())
		}
	}
	if err != nil {
		d.log.Error("config does not load", "root", d.opts.Root, "err", config.Describe(err))
		config.Salvage(d.opts.Root, cfg, problems)
		d.logSalvaged(cfg.Salvaged)
		return cfg, fmt.Errorf("load config from %s: %w", d.opts.Root, err)
	}
	d.log.Info("config loaded", "root", d.opts.Root, "app", cfg.App.Name)
	return cfg, nil
}

// logSalvaged says where recovery's settings come from, one line per
// source: "recovery settings from app.json.bak, the last good version:
// demo.home, demo.tls".
func (d *Device) logSalvaged(from map[string]string) {
	bySource := map[string][]string{}
	for sec, src := range from {
		bySource[src] = append(bySource[src], sec)
	}
	for _, src := range slices.Sorted(maps.Keys(bySource)) {
		secs := bySource[src]
		slices.Sort(secs)
		what := src
		switch {
		case src == "defaults":
			what = "the built-in defaults (neither the file nor its .bak has them whole)"
		case strings.HasSuffix(src, ".bak"):
			what = src + ", the last good version"
		default:
			what = src + " as far as it reads"
		}
		d.log.Warn("recovery settings from "+what, "sections", strings.Join(secs, ", "))
	}
}
