package netif_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/sim"
	"tether/internal/tethertest"
)

// The home network of the tests, and a second one to change to.
var (
	home  = sim.Network{SSID: "home", Password: "homepass1", Signal: 70}
	other = sim.Network{SSID: "other:net\\x", Password: "otherpass", Signal: 40}
)

// syncBuffer is a log sink safe for the Manager's goroutine and the test.
type syncBuffer struct{ tethertest.SyncBuffer }

// count is how many log lines hold msg="<msg>".
func (b *syncBuffer) count(msg string) int {
	return strings.Count(b.String(), "msg=\""+msg+"\"")
}

// harness runs a Manager on a sim radio inside a synctest bubble.
type harness struct {
	t      *testing.T
	radio  *sim.Radio
	m      *netif.Manager
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	modes  []string // every mode seen, in order, deduplicated
	subEnd func()
	subWG  sync.WaitGroup
	mu     sync.Mutex
}

// newHarness makes the radio and manager; opts.Backend and Logger are set
// here. Call start to run it.
func newHarness(t *testing.T, nets []sim.Network, opts netif.Options) *harness {
	t.Helper()
	return newHarnessRadio(t, sim.Options{Networks: nets}, opts)
}

// newHarnessRadio is newHarness with more radio options.
func newHarnessRadio(t *testing.T, so sim.Options, opts netif.Options) *harness {
	t.Helper()
	h := &harness{t: t, logs: &syncBuffer{}}
	so.JoinDelay, so.Seed = 300*time.Millisecond, "dev1"
	h.radio = sim.New(so)
	opts.Backend = h.radio
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h.m = netif.NewManager(opts)
	return h
}

func (h *harness) start() *harness {
	ch, end := h.m.Subscribe()
	h.subEnd = end
	h.modes = []string{(<-ch).Mode} // "starting", before Run can replace it
	h.subWG.Add(1)
	go func() {
		defer h.subWG.Done()
		for s := range ch {
			h.mu.Lock()
			if n := len(h.modes); n == 0 || h.modes[n-1] != s.Mode {
				h.modes = append(h.modes, s.Mode)
			}
			stopped := s.Mode == netif.ModeStopped
			h.mu.Unlock()
			if stopped {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(h.t.Context())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.m.Run(ctx) }()
	h.t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.subWG.Wait()
	h.subEnd()
}

// seen returns the modes seen so far.
func (h *harness) seen() []string {
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.modes...)
}

// waitMode advances the bubble's clock in small steps until the mode is
// want, failing after within.
func (h *harness) waitMode(want string, within time.Duration) {
	h.t.Helper()
	end := time.Now().Add(within)
	for {
		synctest.Wait()
		if got := h.m.State(); got.Mode == want {
			return
		}
		if time.Now().After(end) {
			h.t.Fatalf("mode after %s: got %+v, want %q (logs:\n%s)", within, h.m.State(), want, h.logs)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// advance lets d of virtual time pass.
func (h *harness) advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// apUp reports whether the radio's access point is up.
func (h *harness) apUp() bool {
	_, up := h.radio.APConfig()
	return up
}

// stationSSID is the network the radio's station is joined to.
func (h *harness) stationSSID() string {
	st, err := h.radio.StationStatus(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st.SSID
}

func homeOptions() netif.Options {
	return netif.Options{Station: config.STA{SSID: home.SSID, Pass: home.Password}, Device: "dev1"}
}

func off(n sim.Network) sim.Network { n.Off = true; return n }
