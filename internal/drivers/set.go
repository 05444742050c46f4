package drivers

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"tether/internal/wire"
)

// Set is a device's driver instances by name, in the order they were added.
// It is safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	names []string
	kinds map[string]string
	devs  map[string]Driver
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{kinds: map[string]string{}, devs: map[string]Driver{}}
}

// Add makes a driver of kind called name and adds it.
func (s *Set) Add(kind, name string) error {
	d, err := New(kind, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.devs[name]; dup {
		return fmt.Errorf("add driver %q: name already in use", name)
	}
	s.names = append(s.names, name)
	s.kinds[name] = kind
	s.devs[name] = d
	return nil
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
}

// List describes every driver, in order.
func (s *Set) List() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, Info{Name: n, Kind: s.kinds[n], Running: s.devs[n].Running()})
	}
	return out
}

// State returns each driver's "<name>/running" key.
func (s *Set) State() wire.Message {
	m := wire.Message{}
	for _, i := range s.List() {
		m[i.Name+"/running"] = i.Running
	}
	return m
}

// StopAll stops every running driver.
func (s *Set) StopAll(ctx context.Context) {
	s.mu.Lock()
	ds := make([]Driver, 0, len(s.devs))
	for _, n := range slices.Clone(s.names) {
		ds = append(ds, s.devs[n])
	}
	s.mu.Unlock()
	for _, d := range ds {
		d.Stop(ctx)
	}
}
