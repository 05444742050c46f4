// Package drivers defines the hardware interfaces a device's page can start,
// stop and talk to, and a registry of driver kinds by name. The fake driver
// (package drivers/fake, kind "fake") upper-cases text; a serial port or
// GPIO driver slots in beside it by registering its own kind.
//
// A driver's outgoing data are wire messages of flat keys prefixed with the
// driver's instance name: "fake_interface/msg", "fake_interface/running".
package drivers

import (
	"context"
	"fmt"
	"slices"
	"sync"

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

// Constructor makes a driver instance called name.
type Constructor func(name string) Driver

var (
	mu    sync.RWMutex
	kinds = map[string]Constructor{}
)

// Register makes a driver kind available. It panics on a duplicate or nil.
func Register(kind string, c Constructor) {
	mu.Lock()
	defer mu.Unlock()
	if c == nil {
		panic("drivers: Register constructor is nil for " + kind)
	}
	if _, dup := kinds[kind]; dup {
		panic(fmt.Sprintf("drivers: Register called twice for %q", kind))
	}
	kinds[kind] = c
}

// Kinds lists the registered driver kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// New makes a driver of kind called name.
func New(kind, name string) (Driver, error) {
	mu.RLock()
	c, ok := kinds[kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("new driver %q: unknown kind %q; known: %v", name, kind, Kinds())
	}
	return c(name), nil
}
