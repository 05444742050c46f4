// Package mem is the in-process Broker: one hub process, every route in a
// map, every delivery a direct call to the Handler on the caller's
// goroutine. It is the hub's default.
package mem

import (
	"sort"
	"sync"

	"tether/internal/hub/broker"
)

// Broker is the in-process broker.Broker. The zero value is not usable; use New.
type Broker struct {
	mu      sync.RWMutex
	h       broker.Handler
	held    map[string]broker.Presence
	watched map[string]int
	closed  bool
}

var _ broker.Broker = (*Broker)(nil)

// New returns an empty in-process broker.
func New() *Broker {
	return &Broker{held: map[string]broker.Presence{}, watched: map[string]int{}}
}

// Start implements broker.Broker.
func (b *Broker) Start(h broker.Handler) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.h = h
	return nil
}

func (b *Broker) handler() broker.Handler {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil
	}
	return b.h
}

// Hold implements broker.Broker.
func (b *Broker) Hold(p broker.Presence) error {
	b.mu.Lock()
	b.held[p.Device] = p
	b.mu.Unlock()
	if h := b.handler(); h != nil {
		h.Presence(p)
	}
	return nil
}

// Release implements broker.Broker; a release of a connection that was
// already replaced is ignored, since the newer one holds the id.
func (b *Broker) Release(p broker.Presence) error {
	b.mu.Lock()
	cur, ok := b.held[p.Device]
	if !ok || cur.Conn != p.Conn || cur.Hub != p.Hub {
		b.mu.Unlock()
		return nil
	}
	delete(b.held, p.Device)
	b.mu.Unlock()
	if h := b.handler(); h != nil {
		h.Presence(p)
	}
	return nil
}

// Watch implements broker.Broker; in one process every device is always
// delivered to the Handler, so it only counts.
func (b *Broker) Watch(device string) error {
	b.mu.Lock()
	b.watched[device]++
	b.mu.Unlock()
	return nil
}

// Unwatch implements broker.Broker.
func (b *Broker) Unwatch(device string) error {
	b.mu.Lock()
	if b.watched[device]--; b.watched[device] <= 0 {
		delete(b.watched, device)
	}
	b.mu.Unlock()
	return nil
}

// ToDevice implements broker.Broker.
func (b *Broker) ToDevice(m broker.Message) error {
	b.mu.RLock()
	_, ok := b.held[m.Device]
	h := b.h
	b.mu.RUnlock()
	if !ok || h == nil {
		return broker.ErrOffline
	}
	return h.ToDevice(m)
}

// ToPages implements broker.Broker.
func (b *Broker) ToPages(m broker.Message) error {
	if h := b.handler(); h != nil {
		h.ToPages(m)
	}
	return nil
}

// Lookup implements broker.Broker.
func (b *Broker) Lookup(device string) (broker.Presence, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	p, ok := b.held[device]
	return p, ok
}

// Devices implements broker.Broker, sorted by device id.
func (b *Broker) Devices() []broker.Presence {
	b.mu.RLock()
	out := make([]broker.Presence, 0, len(b.held))
	for _, p := range b.held {
		out = append(out, p)
	}
	b.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}

// Shadow implements broker.Broker.
func (b *Broker) Shadow(device string) []byte {
	if h := b.handler(); h != nil {
		return h.Shadow(device)
	}
	return nil
}

// Close implements broker.Broker.
func (b *Broker) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}
