// Package device owns a device's lifecycle: boot (load the config, bring the
// network up, look up the app named in app.json), run the app under a
// supervisor, and fall into recovery when it cannot run.
//
// The supervisor's conventions:
//
//   - "attempt N, starting app %q" is logged before every start.
//   - An error or panic escaping the app's Run is a failure. A panic becomes
//     a *PanicError carrying its stack, and the stack is logged. (A panic in
//     a goroutine the app started itself cannot be caught: it ends the
//     process, and systemd restarts it.)
//   - A failed app is restarted with jittered backoff; after MaxFailures
//     failures within FailureWindow the device enters recovery, with the last
//     failure as the reason.
//   - An app whose error has a method NoRestart() bool returning true is not
//     restarted: the device enters recovery at once. This is the "don't
//     restart" contract for failures that a retry cannot fix.
//   - A config that does not load, an app name the registry lacks, or a
//     network backend that cannot be opened enters recovery at once, with
//     that reason.
//   - An app's Env.Restart re-runs boot: the config is read again, so a
//     repair made in recovery takes effect.
//
// Logging goes to Options.Logger and, as text, into the device's log
// (package devlog): a ring of recent lines the pages show, and with a device
// root the bounded file tether.log in it, so the last part of the log
// survives a restart or a power cut. The operator items (package ops) are
// served by every app through apps.Env.Ops; their confirm windows run for
// as long as the device does, and so do updates from the hub (package
// update), whose items ride on the same sessions. So is the device
// password (package devauth, apps.Env.Auth): one guard for the device's
// life, configured from app.json's "auth" at every boot, so a login
// outlives an app's restart.
package device

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/devlog"
	"tether/internal/logring"
	"tether/internal/netif"
	"tether/internal/ops"
	"tether/internal/update"
)

// Options configure a Device. The zero value boots the embedded default
// config with the host network backend.
type Options struct {
	// Root is the device root holding network.json and app.json; "" means
	// the embedded defaults (config.Default).
	Root string
	// Net names the network backend ("host", "sim", "nm"), overriding
	// network.json's "net" key. "" means that key, and "host" when it is
	// unset too.
	Net string
	// RecoveryAddr is where recovery serves (apps.Env.RecoveryAddr). ""
	// means the recovery app's default (the demo app's HTTP address if it
	// can be read, else 0.0.0.0:8080).
	RecoveryAddr string
	// RecoveryFallback is the last address recovery tries
	// (apps.Env.RecoveryFallback); "" means 0.0.0.0:8080.
	RecoveryFallback string
	// Version is tether's release version, handed to every app in
	// apps.Env.Version; "" leaves it to the app.
	Version string
	// Logger receives the device's log; nil discards it (the Ring still
	// gets it).
	Logger *slog.Logger
	// Console receives what only the person at the device may see, once:
	// the access point password the network layer makes at first boot
	// (netif.Options.Console) and the device password made at first boot
	// (package devauth). They never go to the Ring or the log file, which
	// pages and the hub show. Nil shows them nowhere.
	Console io.Writer
	// Log keeps the recent log lines for the pages; nil means a new ring
	// of 300 lines.
	Log *logring.Ring
	// LogFileSize is the size of the log file tether.log in the device
	// root before it becomes tether.log.1 and a new one starts; zero means
	// 256 KiB, negative means no file.
	LogFileSize int64
	// ConfirmWindow is how long a config change applied by an operator
	// waits to be confirmed before it is checked (see package ops); zero
	// means 60 s.
	ConfirmWindow time.Duration
	// UpdateWindow is how long an update stays on trial before it is
	// committed (see package update); zero means update.DefaultWindow.
	UpdateWindow time.Duration
	// UpdateHold is update.Options.Hold, for tests of power cuts.
	UpdateHold string
	// BinaryTrial, when set, is called when an update has staged a tether
	// binary and recorded its trial: the caller stops the device (ends
	// Run's context) and runs the trial (update.RunBinaryTrial). Nil
	// refuses binary updates.
	BinaryTrial func(update.BinaryTrial)
	// TrialOf and TrialOver are update.Options' for a device run by a
	// binary on trial: the SHA-256 of its artifact (update.TrialEnv), and
	// what ends the device once its verdict is recorded.
	TrialOf   string
	TrialOver func()
	// MaxFailures is how many failures within FailureWindow send the device
	// to recovery; zero means 3.
	MaxFailures int
	// FailureWindow is the window MaxFailures counts in; zero means 1 min.
	FailureWindow time.Duration
	// RestartDelay is the first delay before restarting a failed app,
	// doubling (with jitter) up to 30 s; zero means 1 s.
	RestartDelay time.Duration
	// OpenBackend opens the network backend by name; nil means the
	// backends the binary has (sim, host, nm).
	OpenBackend func(name string, cfg *config.Config) (netif.Backend, error)
	// NetOptions tune the network state machine (grace period, retry and
	// monitor intervals); its Backend, Station, AP, Device, Creds, Logger
	// and Console are filled in from the config and Options, and ignored
	// here.
	NetOptions netif.Options
	// Ready, when not nil, is called each time an app serves, with its
	// name and the addresses it listens on ("http" → "127.0.0.1:8080").
	Ready func(app string, addrs map[string]string)
}

// Device boots and supervises one device. Create it with New.
type Device struct {
	opts Options
	dlog *devlog.Log
	ops  *ops.Service
	upd  *update.Service
	auth *devauth.Guard // the device password, for every app's page and API
	root *slog.Logger   // every component's logger derives from it
	log  *slog.Logger   // component=device

	net netState // the network manager, owned by Run

	mu     sync.Mutex
	status Status
}

// Status is what the device is doing, for apps and tests.
type Status struct {
	// App is the app running (or starting); "recovery" in recovery.
	App string `json:"app"`
	// Attempt counts the app's starts since boot.
	Attempt int `json:"attempt"`
	// Reason is why the device is in recovery; "" otherwise.
	Reason string `json:"reason,omitempty"`
	// Boots counts boots: 1 at power-on, +1 per restart.
	Boots int `json:"boots"`
	// ServedBoot is the boot in which an app other than recovery last
	// came up serving; 0 before any.
	ServedBoot int `json:"served_boot,omitempty"`
	// Failures counts the failures that escaped an app since the device
	// started; Restarts those the app was restarted after.
	Failures int `json:"failures"`
	Restarts int `json:"restarts"`
	// LastFailure is the last of them and LastFailureAt its time; ""
	// after none.
	LastFailure   string    `json:"last_failure,omitempty"`
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
}

// New returns a Device with opts applied; Run starts it.
func New(opts Options) *Device {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 3
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = time.Minute
	}
	if opts.RestartDelay <= 0 {
		opts.RestartDelay = time.Second
	}
	if opts.OpenBackend == nil {
		opts.OpenBackend = openBackend
	}
	ring := opts.Log
	if ring == nil {
		ring = logring.New(300)
	}
	file, fileErr := openLogFile(opts.Root, opts.LogFileSize)
	d := &Device{opts: opts, dlog: devlog.New(devlog.Options{Ring: ring, File: file})}
	d.root = newLogger(opts.Logger, d.dlog)
	d.log = d.root.With("component", "device")
	if fileErr != nil {
		d.log.Warn("log file unavailable: the log is kept in memory only", "err", fileErr)
	}
	d.auth = devauth.New(devauth.Options{Root: opts.Root, Console: opts.Console, Logger: d.root})
	d.ops = ops.New(ops.Options{
		Root: opts.Root, Log: d.dlog, Health: d.health, Version: apps.VersionText(opts.Version), Checks: apps.ConfigChecks(),
		Window: opts.ConfirmWindow, Logger: d.root,
	})
	d.upd = update.New(update.Options{Root: opts.Root, Ops: d.ops, Version: apps.VersionText(opts.Version),
		Window: opts.UpdateWindow, Binary: opts.BinaryTrial, Hold: opts.UpdateHold, Logger: d.root,
		TrialOf: opts.TrialOf, TrialOver: opts.TrialOver})
	return d
}

// Status returns what the device is doing.
func (d *Device) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

func (d *Device) setStatus(f func(s *Status)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.status)
}

// errRestart is the cause of a cycle's context ending for Env.Restart.
var errRestart = errors.New("restart requested")

// Run boots the device and runs it until ctx ends: the app, or recovery,
// and again after each restart. It returns nil once ctx has ended and the
// app and the network have stopped; apps close their clients with 1001.
func (d *Device) Run(ctx context.Context) error {
	defer d.dlog.Close()
	defer d.stopNetwork()
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { d.ops.Run(opsCtx) })
	wg.Go(func() { d.upd.Run(opsCtx) })
	defer wg.Wait()
	defer stopOps()
	for {
		if err := d.cycle(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			d.log.Info("device stopped", "cause", context.Cause(ctx))
			return nil
		}
		d.log.Info("restarting: booting again")
	}
}

// cycle is one boot: load, network, app or recovery, until restart or ctx.
func (d *Device) cycle(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	restart := func() { cancel(errRestart) }
	p := d.boot(ctx)
	d.auth.Configure(p.cfg.App.Auth)
	if p.reason == nil {
		err := d.supervise(ctx, p, d.env(p, restart), d.opts.MaxFailures)
		if ctx.Err() != nil {
			return nil
		}
		p.reason = err
	}
	return d.enterRecovery(ctx, p, restart)
}
