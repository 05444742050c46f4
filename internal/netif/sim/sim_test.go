package sim_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/netif"
	"tether/internal/netif/sim"
)

func TestDemoNetworks(t *testing.T) {
	r := sim.New(sim.Options{})
	nets, err := r.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) < 2 || nets[0] != (netif.Network{SSID: "tether-lab", Signal: 78, Secure: true}) {
		t.Errorf("Scan: got %+v, want the demo networks, tether-lab first", nets)
	}
	synctest.Test(t, func(t *testing.T) {
		if err := r.Join(t.Context(), "tether-lab", "tether123"); err != nil {
			t.Errorf("join tether-lab: %v", err)
		}
	})
}

func TestJoin(t *testing.T) {
	nets := []sim.Network{{SSID: "home", Password: "homepass1"}, {SSID: "open"}, {SSID: "off", Password: "x", Off: true}}
	tests := []struct {
		ssid, pass string
		want       error
	}{
		{"home", "homepass1", nil},
		{"home", "wrong", sim.ErrWrongPassword},
		{"open", "", nil},
		{"off", "x", sim.ErrNotInRange},
		{"nowhere", "", sim.ErrNotInRange},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			r := sim.New(sim.Options{Networks: nets, JoinDelay: time.Second})
			start := time.Now()
			err := r.Join(t.Context(), tt.ssid, tt.pass)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Join(%q, %q): got %v, want %v", tt.ssid, tt.pass, err, tt.want)
			}
			if d := time.Since(start); d != time.Second { // virtual time: exact
				t.Errorf("Join took %v of simulated time, want the join delay 1s", d)
			}
			st, _ := r.StationStatus(t.Context())
			if st.Connected != (tt.want == nil) || (st.Connected && (st.SSID != tt.ssid || st.Signal != 60)) || (!st.Connected && st.Signal != 0) {
				t.Errorf("after Join(%q): status %+v", tt.ssid, st)
			}
		})
	}
}

func TestDropAndRouterOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := sim.New(sim.Options{Networks: []sim.Network{{SSID: "home", Password: "homepass1"}}})
		ctx := t.Context()
		join := func() error { return r.Join(ctx, "home", "homepass1") }
		connected := func() bool { st, _ := r.StationStatus(ctx); return st.Connected }
		if err := join(); err != nil || !connected() {
			t.Fatalf("join: %v", err)
		}
		r.Drop()
		if connected() {
			t.Error("connected after Drop")
		}
		if err := join(); err != nil {
			t.Fatalf("rejoin after Drop: %v", err)
		}
		r.SetOn("home", false)
		if connected() {
			t.Error("connected with the router off")
		}
		if nets, _ := r.Scan(ctx); len(nets) != 0 {
			t.Errorf("scan with the router off: %+v", nets)
		}
		if err := join(); !errors.Is(err, sim.ErrNotInRange) {
			t.Errorf("join with the router off: got %v, want not in range", err)
		}
		r.SetOn("home", true)
		if err := join(); err != nil || !connected() {
			t.Errorf("join with the router back: %v", err)
		}
	})
}

func TestStableAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := sim.New(sim.Options{Seed: "dev1"})
		b := sim.New(sim.Options{Seed: "dev1"})
		ctx := t.Context()
		for _, r := range []*sim.Radio{a, b} {
			if err := r.Join(ctx, "tether-lab", "tether123"); err != nil {
				t.Fatal(err)
			}
			if err := r.APUp(ctx, netif.APConfig{SSID: "ap", Password: "password1"}); err != nil {
				t.Fatal(err)
			}
		}
		sa, _ := a.StationStatus(ctx)
		sb, _ := b.StationStatus(ctx)
		if sa.IP == "" || sa.MAC == "" || sa.Gateway == "" || sa.IP != sb.IP || sa.MAC != sb.MAC {
			t.Errorf("station addresses not stable: %+v vs %+v", sa, sb)
		}
		ap, _ := a.APStatus(ctx)
		if ap != (netif.APStatus{Active: true, SSID: "ap", MAC: ap.MAC, IP: "192.168.4.1"}) || ap.MAC == sa.MAC {
			t.Errorf("APStatus: got %+v, want ap at 192.168.4.1 with its own MAC", ap)
		}
		if err := a.APDown(ctx); err != nil {
			t.Fatal(err)
		}
		if ap, _ := a.APStatus(ctx); ap.Active {
			t.Errorf("APStatus after APDown: %+v", ap)
		}
	})
}

// TestConcurrent hammers a Radio from several goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := sim.New(sim.Options{JoinDelay: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for range 50 {
					switch i {
					case 0:
						r.Join(ctx, "tether-lab", "tether123")
					case 1:
						r.Drop()
						r.SetOn("cafe", false)
						r.SetOn("cafe", true)
						time.Sleep(time.Millisecond)
					case 2:
						r.Scan(ctx)
						r.StationStatus(ctx)
						time.Sleep(time.Millisecond)
					case 3:
						r.APUp(ctx, netif.APConfig{SSID: "ap"})
						r.APDown(ctx)
						r.APStatus(ctx)
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
	})
}
