package natsbroker

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"tether/internal/hub/broker"
)

// recorder is a Handler that remembers what it was given, as a hub would
// queue it, and holds shadows set by the test.
type recorder struct {
	toDevice chan broker.Message
	toPages  chan broker.Message
	presence chan broker.Presence
	slow     chan struct{} // when not nil, ToPages waits for it to close

	mu      sync.Mutex
	shadows map[string][]byte
}

func newRecorder() *recorder {
	return &recorder{
		toDevice: make(chan broker.Message, 10000),
		toPages:  make(chan broker.Message, 10000),
		presence: make(chan broker.Presence, 10000),
		shadows:  map[string][]byte{},
	}
}

func (r *recorder) ToDevice(m broker.Message) error {
	select {
	case r.toDevice <- m:
		return nil
	default:
		return errors.New("recorder full")
	}
}

func (r *recorder) ToPages(m broker.Message) {
	if r.slow != nil {
		<-r.slow
	}
	select {
	case r.toPages <- m:
	default:
	}
}

func (r *recorder) Presence(p broker.Presence) {
	select {
	case r.presence <- p:
	default:
	}
}

func (r *recorder) Shadow(device string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shadows[device]
}

const waitLimit = 10 * time.Second

func (r *recorder) expectMessage(t *testing.T, ch chan broker.Message, want broker.Message) {
	t.Helper()
	select {
	case got := <-ch:
		if got.Device != want.Device || got.Binary != want.Binary || string(got.Data) != string(want.Data) ||
			got.Page != want.Page || got.PageGone != want.PageGone {
			t.Fatalf("got message %q (device %s, binary %v, page %q, gone %v), want %q (device %s, binary %v, page %q, gone %v)",
				got.Data, got.Device, got.Binary, got.Page, got.PageGone, want.Data, want.Device, want.Binary, want.Page, want.PageGone)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no message %q for %s after %v", want.Data, want.Device, waitLimit)
	}
}

// expectPresence waits for a presence of device matching ok, skipping others.
func (r *recorder) expectPresence(t *testing.T, what string, ok func(broker.Presence) bool) broker.Presence {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case p := <-r.presence:
			if ok(p) {
				return p
			}
		case <-deadline:
			t.Fatalf("no presence %s after %v", what, waitLimit)
		}
	}
}

func online(device, hub string) func(broker.Presence) bool {
	return func(p broker.Presence) bool { return p.Device == device && p.Online && p.Hub == hub }
}

func offline(device string) func(broker.Presence) bool {
	return func(p broker.Presence) bool { return p.Device == device && !p.Online }
}

// startBroker starts a broker named hub on url with short test timings.
func startBroker(t *testing.T, url, hub string, tweak ...func(*Options)) (*Broker, *recorder) {
	t.Helper()
	o := Options{URL: url, Hub: hub, Heartbeat: 250 * time.Millisecond, ReconnectWait: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn + 4}))}
	for _, f := range tweak {
		f(&o)
	}
	b := New(o)
	rec := newRecorder()
	if err := b.Start(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rec
}

// waitFor polls cond until it holds or fails the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func heldBy(b *Broker, device, hub string) func() bool {
	return func() bool {
		p, ok := b.Lookup(device)
		return ok && p.Hub == hub
	}
}

func presence(device, hub string, conn uint64, since time.Time) broker.Presence {
	return broker.Presence{Device: device, Hub: hub, Conn: conn, Online: true, Since: since}
}
