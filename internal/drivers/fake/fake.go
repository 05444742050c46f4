// Package fake is the example hardware driver of the seed: it takes a string
// and answers it upper-cased, as "<name>/msg". It registers itself as kind
// "fake"; the demo app adds one called "fake_interface".
package fake

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"tether/internal/drivers"
	"tether/internal/wire"
)

func init() {
	drivers.Register("fake", drivers.Kind{
		New: func(s drivers.Spec) (drivers.Driver, error) { return New(s.Config.Name), nil },
	})
}

// Driver is a fake interface. The zero value is not usable; call New.
type Driver struct {
	name string
	mu   sync.Mutex
	out  func(wire.Message)
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a stopped fake driver called name.
func New(name string) *Driver { return &Driver{name: name} }

// Start starts the interface; its replies go to out.
func (d *Driver) Start(ctx context.Context, out func(wire.Message)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if out == nil {
		out = func(wire.Message) {}
	}
	d.out = out
	return nil
}

// Stop stops the interface.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.out = nil
	return nil
}

// Running reports whether the interface is started.
func (d *Driver) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out != nil
}

// Send upper-cases text and emits it as "<name>/msg".
func (d *Driver) Send(ctx context.Context, text string) error {
	d.mu.Lock()
	out := d.out
	d.mu.Unlock()
	if out == nil {
		return fmt.Errorf("%s is not running: start it first (CMD start_interface)", d.name)
	}
	out(wire.Message{d.name + "/msg": strings.ToUpper(text)})
	return nil
}
