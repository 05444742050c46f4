// Package drivers defines the hardware interfaces an app drives (which its
// page can start, stop and talk to), a registry of driver kinds by name,
// and Set, an app's drivers as app.json declares them under the app's
// "drivers" key. Any app can hold a Set: it needs nothing from the app but
// a function to hand the drivers' messages to.
//
// The fake kind (package drivers/fake) upper-cases text; the serial kind
// (package drivers/serial) is a serial port. A driver's outgoing data are
// wire messages of flat keys prefixed with the driver's name:
// "fake_interface/msg", "uart/line"; its state keys ("uart/running",
// "uart/status") join the device's state object.
package drivers

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"tether/internal/config"
	"tether/internal/wire"
)

// Driver is one hardware interface.
type Driver interface {
	// Start starts the interface. Messages the hardware produces are
	// passed to out, from any goroutine, until Stop. Start on a running
	// driver is a no-op.
	Start(ctx context.Context, out func(wire.Message)) error
	// Stop stops the interface; Stop on a stopped driver is a no-op.
	Stop(ctx context.Context) error
	// Send sends text to the interface; it fails when not running.
	Send(ctx context.Context, text string) error
	// Running reports whether the interface is started.
	Running() bool
}

// Reporter is a Driver with state beyond Running: State returns its keys
// for the device's state object ("uart/status": "open: …"), and the hal
// listing shows its "<name>/status".
type Reporter interface {
	Driver
	State() wire.Message
}

// Spec is what a kind's constructor gets.
type Spec struct {
	// Config is the driver's entry in app.json; Name and Kind are set.
	Config config.Driver
	// Logger logs the driver's events; nil discards them.
	Logger *slog.Logger
}

// Kind is a registered driver kind.
type Kind struct {
	// New makes a stopped driver; an error means its settings cannot work.
	New func(Spec) (Driver, error)
	// Check looks at the hardware a driver's settings name, without
	// opening it, for "tether config check"; nil checks nothing.
	Check func(config.Driver) []config.Problem
}

var (
	mu    sync.RWMutex
	kinds = map[string]Kind{}
)

// Register makes a driver kind available. It panics on a duplicate or a
// nil New.
func Register(name string, k Kind) {
	mu.Lock()
	defer mu.Unlock()
	if k.New == nil {
		panic("drivers: Register constructor is nil for " + name)
	}
	if _, dup := kinds[name]; dup {
		panic(fmt.Sprintf("drivers: Register called twice for %q", name))
	}
	kinds[name] = k
}

// Kinds lists the registered driver kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(kinds))
}

func lookup(kind string) (Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[kind]
	return k, ok
}

// New makes the driver spec describes.
func New(spec Spec) (Driver, error) {
	c := spec.Config
	k, ok := lookup(c.Kind)
	if !ok {
		return nil, fmt.Errorf("new driver %q: unknown kind %q; known: %v", c.Name, c.Kind, Kinds())
	}
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := k.New(spec)
	if err != nil {
		return nil, fmt.Errorf("new driver %q: %w", c.Name, err)
	}
	return d, nil
}

// Check runs each driver's kind's Check and returns the problems found;
// drivers of unknown kinds are left to config's own checks.
func Check(ds []config.Driver) []config.Problem {
	var out []config.Problem
	for _, d := range ds {
		if k, ok := lookup(d.Kind); ok && k.Check != nil {
			out = append(out, k.Check(d)...)
		}
	}
	return out
}
