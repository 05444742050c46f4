// Package apps defines what a device application is and keeps the registry
// of them by name, in the manner of database/sql drivers: each application
// package registers itself in an init function, and the device looks up the
// name app.json gives.
//
// An App's own errors are its own to handle. An error or panic that escapes
// Run is the supervisor's: it restarts the app with backoff, then falls into
// recovery (see package device).
package apps

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"

	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/logring"
	"tether/internal/netif"
	"tether/internal/ops"
)

// App is a device application.
type App interface {
	// Run runs the application until ctx ends or it fails. It returns nil
	// only when ctx ended; any other return is a failure the supervisor
	// acts on. Ready, if not nil in env, is called once the app serves.
	Run(ctx context.Context, env *Env) error
}

// Func adapts a plain function to App.
type Func func(ctx context.Context, env *Env) error

// Run calls f.
func (f Func) Run(ctx context.Context, env *Env) error { return f(ctx, env) }

// Env is everything the device hands an application.
type Env struct {
	// Config is the loaded configuration. For the recovery app it may be
	// partly or wholly defaults, since recovery needs no valid config.
	Config *config.Config
	// Net is the device's network, for status and WiFi changes. Never nil.
	Net *netif.Manager
	// Logger is the app's logger, with a component attribute.
	Logger *slog.Logger
	// Log holds the device's recent log lines for display.
	Log *logring.Ring
	// Reason says why the device is in recovery; nil for other apps.
	Reason error
	// Restart asks the device to re-run boot (load config, start the app
	// named in it). Nil when the app runs outside a device.
	Restart func()
	// Ready, when not nil, is called with the addresses the app listens on
	// once it serves, keyed by what they serve ("http" → "127.0.0.1:8080";
	// "https", "ws", "wss").
	Ready func(addrs map[string]string)
	// RecoveryAddr is where the recovery app serves, from the command
	// line; "" means its default (see recovery.Addr).
	RecoveryAddr string
	// RecoveryFallback is the last address the recovery app tries when it
	// cannot listen on its own on any interface, from the command line;
	// "" means recovery.DefaultAddr.
	RecoveryFallback string
	// Version is tether's release version, shown in an app's state; ""
	// means the version in the binary's build information, else "dev".
	Version string
	// Ops are tether's own operator items (restart, system information,
	// config with automatic revert, log, WiFi scan), which an app adds
	// beside its own on every command API it serves: Register before
	// serving, Run for as long as it serves, AddState in its state object,
	// HomeReport as its call-home Report. Nil outside a device; its
	// methods then do nothing.
	Ops *ops.Session
	// Auth guards the app's page, command API and recovery with the
	// device password (package devauth): an app wraps its HTTP handler
	// with Auth.Handler. Nil outside a device: nothing is guarded.
	Auth *devauth.Guard
}

// NoRestart marks err as a failure a restart cannot fix (settings that do
// not load): the device enters recovery at once instead of restarting the
// app (package device's "don't restart" contract). Nil stays nil.
func NoRestart(err error) error {
	if err == nil {
		return nil
	}
	return noRestart{err}
}

type noRestart struct{ err error }

func (e noRestart) Error() string   { return e.err.Error() }
func (e noRestart) Unwrap() error   { return e.err }
func (e noRestart) NoRestart() bool { return true }

// Constructor makes a fresh App for one run.
type Constructor func() App

var (
	mu       sync.RWMutex
	registry = map[string]Constructor{}
	process  struct {
		run   Constructor
		check func(root string, p *config.Process) []config.Problem
	}
)

// RegisterProcess sets how process apps run (app.json sections holding
// "exec", whatever their name: package apps/process) and how their
// program is checked (config.Machine.Program). It panics when called twice
// or with a nil constructor.
func RegisterProcess(run Constructor, check func(root string, p *config.Process) []config.Problem) {
	mu.Lock()
	defer mu.Unlock()
	if run == nil || process.run != nil {
		panic("apps: RegisterProcess called twice or with nil")
	}
	process.run, process.check = run, check
}

// For returns the constructor of the app a names: the process app runner
// when its section holds "exec", else the app registered under its name.
func For(a *config.App) (Constructor, bool) {
	if a.Process() != nil {
		mu.RLock()
		defer mu.RUnlock()
		return process.run, process.run != nil
	}
	return Lookup(a.Name)
}

// Register makes an application available by name. It panics if the name is
// taken or the constructor is nil, like database/sql.Register.
func Register(name string, c Constructor) {
	mu.Lock()
	defer mu.Unlock()
	if c == nil {
		panic("apps: Register constructor is nil for " + name)
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("apps: Register called twice for %q", name))
	}
	registry[name] = c
}

// Lookup returns the constructor registered under name.
func Lookup(name string) (Constructor, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := registry[name]
	return c, ok
}

// Names lists the registered applications, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// VersionText is the tether version an app reports in its state object:
// v (Env.Version) when set, else the module's version from the build
// information, else "dev".
func VersionText(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ConfigChecks returns the config checks for this binary on this machine:
// app.json's "app" must name a registered app (or a section with "exec",
// whose program must exist and may be run, when a process runner is
// registered), and a listen address the machine lacks is a warning. The
// device's boot, tether config check and recovery's save all use it.
func ConfigChecks() config.Machine {
	mu.RLock()
	check := process.check
	mu.RUnlock()
	return config.Machine{Apps: Names(), HasAddr: config.LocalAddr, Program: check}
}
