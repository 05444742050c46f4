package netif_test

import (
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/netif"
	"tether/internal/netif/sim"
)

// TestSingleRadioRetries: where a join takes the access point down (nm),
// a failed retry brings it back, quietly.
func TestSingleRadioRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := homeOptions()
		opts.Station.Pass = "stale-pass" // the router is there, the password is not right
		h := newHarnessRadio(t, sim.Options{Networks: []sim.Network{home}, SingleRadio: true}, opts).start()
		h.waitMode(netif.ModeAPRetry, grace+10*time.Second)
		joins := h.radio.Joins()
		h.advance(10 * time.Minute)
		if h.radio.Joins() <= joins {
			t.Fatal("no station retries in ap+retry")
		}
		for i := 0; !h.apUp(); i++ { // a join may be under way right now
			if i > 10 {
				t.Fatalf("access point not back after a failed retry (state %+v)", h.m.State())
			}
			h.advance(100 * time.Millisecond)
		}
		if got := h.m.State(); !got.AP || got.Mode != netif.ModeAPRetry {
			t.Errorf("between retries: state %+v; want ap+retry with the AP up", got)
		}
		if n := h.logs.count("access point up"); n != 1 {
			t.Errorf("\"access point up\" logged %d times, want 1:\n%s", n, h.logs)
		}
	})
}

// TestSingleRadioHeldAP: while recovery holds the access point on a single
// radio, the station is not retried (it would cut the person off); after
// ReleaseAP it is, and the access point goes.
func TestSingleRadioHeldAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarnessRadio(t, sim.Options{Networks: []sim.Network{home}, SingleRadio: true}, homeOptions()).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		if err := h.m.EnsureAP(t.Context()); err != nil {
			t.Fatalf("EnsureAP: %v", err)
		}
		h.waitMode(netif.ModeAPRetry, 10*time.Second) // the AP took the radio
		joins := h.radio.Joins()
		h.advance(10 * time.Minute)
		if got := h.radio.Joins(); got != joins {
			t.Errorf("joins while held: got %d more, want none", got-joins)
		}
		if !h.apUp() {
			t.Fatal("held access point is down")
		}
		h.m.ReleaseAP()
		h.waitMode(netif.ModeStation, 10*time.Second)
		if h.apUp() {
			t.Error("access point up after release with the station back")
		}
	})
}
