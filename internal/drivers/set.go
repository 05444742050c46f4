package drivers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"tether/internal/config"
	"tether/internal/wire"
)

// DefaultName is the driver a request means when it names none: the
// seed's fake interface, whose page sends start_interface with no
// arguments.
const DefaultName = "fake_interface"

// Set is an app's driver instances by name, in the order they were added.
// It is safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	names []string
	kinds map[string]string
	devs  map[string]Driver
	start []string // names app.json marks "start": true
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{kinds: map[string]string{}, devs: map[string]Driver{}}
}

// FromConfig makes an app's drivers as app.json declares them: the seed's
// fake_interface (kind fake) unless the declarations give that name one of
// their own, then each declared driver in order. Each driver logs to log
// with its name ("driver": "uart").
func FromConfig(declared config.Drivers, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ds := slices.Clone(declared)
	if !slices.ContainsFunc(ds, func(d config.Driver) bool { return d.Name == DefaultName }) {
		ds = slices.Insert(ds, 0, config.Driver{Name: DefaultName, Kind: "fake"})
	}
	s := NewSet()
	for _, d := range ds {
		if err := s.Add(Spec{Config: d, Logger: log.With("driver", d.Name)}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add makes the driver spec describes and adds it.
func (s *Set) Add(spec Spec) error {
	name := spec.Config.Name
	s.mu.Lock()
	_, dup := s.devs[name]
	s.mu.Unlock()
	if dup {
		return fmt.Errorf("add driver %q: name already in use", name)
	}
	d, err := New(spec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.devs[name]; dup {
		return fmt.Errorf("add driver %q: name already in use", name)
	}
	s.names = append(s.names, name)
	s.kinds[name] = spec.Config.Kind
	s.devs[name] = d
	if spec.Config.Start {
		s.start = append(s.start, name)
	}
	return nil
}

// StartDeclared starts the drivers app.json marks "start": true, as
// start_interface would, handing what they produce to out. It returns the
// errors of those that did not start; the others run.
func (s *Set) StartDeclared(ctx context.Context, out func(wire.Message)) error {
	var errs []error
	for _, name := range s.declared() {
		d, err := s.Get(name)
		if err == nil {
			err = d.Start(ctx, out)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Set) declared() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.start)
}

// Get returns the driver called name.
func (s *Set) Get(name string) (Driver, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devs[name]
	if !ok {
		return nil, fmt.Errorf("no driver %q; have %v", name, s.names)
	}
	return d, nil
}

// Info describes one driver for the "hal" listing.
type Info struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Running bool   `json:"running"`
	// Status is a Reporter's "<name>/status": "open: /dev/ttyACM0 …".
	Status string `json:"status,omitempty"`
}

// List describes every driver, in order.
func (s *Set) List() []Info {
	ds := s.all()
	out := make([]Info, 0, len(ds))
	for _, d := range ds {
		i := Info{Name: d.name, Kind: d.kind, Running: d.Running()}
		if r, ok := d.Driver.(Reporter); ok {
			i.Status, _ = r.State()[d.name+"/status"].(string)
		}
		out = append(out, i)
	}
	return out
}

// State returns each driver's "<name>/running" key, and a Reporter's keys.
func (s *Set) State() wire.Message {
	m := wire.Message{}
	for _, d := range s.all() {
		m[d.name+"/running"] = d.Running()
		if r, ok := d.Driver.(Reporter); ok {
			maps.Copy(m, r.State())
		}
	}
	return m
}

// named is a driver with its name and kind.
type named struct {
	name, kind string
	Driver
}

// all returns the drivers in order.
func (s *Set) all() []named {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]named, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, named{n, s.kinds[n], s.devs[n]})
	}
	return out
}

// StopAll stops every running driver.
func (s *Set) StopAll(ctx context.Context) {
	for _, d := range s.all() {
		d.Stop(ctx)
	}
}
