package mem

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"tether/internal/hub/broker"
)

// handler records what the broker delivers.
type handler struct {
	mu       sync.Mutex
	toDevice []broker.Message
	toPages  []broker.Message
	presence []broker.Presence
	shadow   map[string][]byte
}

func (h *handler) ToDevice(m broker.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.toDevice = append(h.toDevice, m)
	return nil
}
func (h *handler) ToPages(m broker.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.toPages = append(h.toPages, m)
}
func (h *handler) Presence(p broker.Presence) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.presence = append(h.presence, p)
}
func (h *handler) Shadow(d string) []byte { return h.shadow[d] }

func TestRoutesByDeviceID(t *testing.T) {
	b := New()
	h := &handler{shadow: map[string][]byte{"d1": []byte(`{"a":1}`)}}
	b.Start(h)
	if err := b.ToDevice(broker.Message{Device: "d1", Data: []byte("x")}); !errors.Is(err, broker.ErrOffline) {
		t.Errorf("ToDevice before Hold: %v, want ErrOffline", err)
	}
	b.Hold(broker.Presence{Device: "d1", Hub: "h", Conn: 1, Online: true})
	b.Hold(broker.Presence{Device: "d2", Hub: "h", Conn: 2, Online: true})
	if err := b.ToDevice(broker.Message{Device: "d1", Data: []byte("x")}); err != nil {
		t.Errorf("ToDevice: %v", err)
	}
	b.ToPages(broker.Message{Device: "d2", Binary: true, Data: []byte{1}})
	if len(h.toDevice) != 1 || h.toDevice[0].Device != "d1" || len(h.toPages) != 1 || !h.toPages[0].Binary {
		t.Errorf("delivered %+v and %+v", h.toDevice, h.toPages)
	}
	if p, ok := b.Lookup("d2"); !ok || p.Conn != 2 {
		t.Errorf("Lookup(d2) = %+v, %v", p, ok)
	}
	var ids []string
	for _, p := range b.Devices() {
		ids = append(ids, p.Device)
	}
	if !slices.Equal(ids, []string{"d1", "d2"}) {
		t.Errorf("Devices: %v", ids)
	}
	if s := b.Shadow("d1"); string(s) != `{"a":1}` {
		t.Errorf("Shadow: %s", s)
	}
}

func TestReleaseOfAReplacedConnectionIsIgnored(t *testing.T) {
	b := New()
	h := &handler{}
	b.Start(h)
	b.Hold(broker.Presence{Device: "d", Hub: "h", Conn: 1, Online: true})
	b.Hold(broker.Presence{Device: "d", Hub: "h", Conn: 2, Online: true}) // replaces 1
	b.Release(broker.Presence{Device: "d", Hub: "h", Conn: 1, Reason: "late"})
	if _, ok := b.Lookup("d"); !ok {
		t.Fatal("the stale release of connection 1 took the device offline")
	}
	b.Release(broker.Presence{Device: "d", Hub: "h", Conn: 2, Reason: "gone"})
	if _, ok := b.Lookup("d"); ok {
		t.Fatal("device still online after its connection was released")
	}
	var got []string
	for _, p := range h.presence {
		got = append(got, p.Reason)
	}
	if !slices.Equal(got, []string{"", "", "gone"}) {
		t.Errorf("presence events: %q, want two arrivals and one departure", got)
	}
}

func TestClosedBrokerDeliversNothing(t *testing.T) {
	b := New()
	h := &handler{}
	b.Start(h)
	b.Close()
	b.Close()
	b.Hold(broker.Presence{Device: "d", Conn: 1, Online: true})
	b.ToPages(broker.Message{Device: "d"})
	if len(h.presence)+len(h.toPages) != 0 {
		t.Errorf("closed broker delivered %v %v", h.presence, h.toPages)
	}
}
