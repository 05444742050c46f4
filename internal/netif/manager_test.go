package netif_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/sim"
)

const grace = 60 * time.Second // the default, which the tests use

func TestPowerOnRouterUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home}, homeOptions()).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		h.advance(3 * grace) // stays put, monitor running
		if got := h.m.State(); got.Mode != netif.ModeStation || got.AP || got.Attempts != 0 {
			t.Errorf("state after 3 minutes: got %+v, want station, no AP, 0 attempts", got)
		}
		if h.apUp() {
			t.Error("access point came up with the router up")
		}
		if got, want := h.seen(), []string{"starting", "connecting", "station"}; !slices.Equal(got, want) {
			t.Errorf("modes: got %v, want %v", got, want)
		}
		if got := h.stationSSID(); got != home.SSID {
			t.Errorf("station ssid: got %q, want %q", got, home.SSID)
		}
		if n := h.logs.count("station connected"); n != 1 {
			t.Errorf("\"station connected\" logged %d times, want 1:\n%s", n, h.logs)
		}
	})
}

func TestRouterDownAtBootThenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{off(home)}, homeOptions()).start()
		h.advance(grace - 2*time.Second)
		if got := h.m.State(); got.Mode != netif.ModeConnecting || got.AP || h.apUp() {
			t.Fatalf("state before the grace period ends: got %+v (radio AP up %v), want connecting, no AP", got, h.apUp())
		}
		if got := h.m.State(); got.Attempts < 2 || got.LastError == "" {
			t.Errorf("state while connecting: got %+v, want several attempts and a last error", got)
		}
		h.waitMode(netif.ModeAPRetry, 10*time.Second)
		if !h.apUp() || !h.m.State().AP {
			t.Fatalf("after the grace period: radio AP up %v, state %+v; want the AP up", h.apUp(), h.m.State())
		}
		cfg, _ := h.radio.APConfig()
		if cfg.SSID != "tether-dev1" || len(cfg.Password) < 8 {
			t.Errorf("access point: got %+v, want ssid tether-dev1 and a generated password", cfg)
		}
		h.advance(5 * time.Minute) // router still off: AP stays, retries go on
		joins := h.radio.Joins()
		if got := h.m.State(); got.Mode != netif.ModeAPRetry || !h.apUp() {
			t.Fatalf("router still off: got %+v, want ap+retry with the AP up", got)
		}

		h.radio.SetOn(home.SSID, true)
		h.waitMode(netif.ModeStation, 90*time.Second) // at most one capped retry delay
		synctest.Wait()
		if h.apUp() || h.m.State().AP {
			t.Errorf("station back: access point still up (state %+v)", h.m.State())
		}
		if got := h.radio.Joins(); got <= joins {
			t.Errorf("joins: got %d, want more than %d", got, joins)
		}
		want := []string{"starting", "connecting", "ap+retry", "station"}
		if got := h.seen(); !slices.Equal(got, want) {
			t.Errorf("modes: got %v, want %v", got, want)
		}
	})
}

// TestCycleRepeats runs station → lost → AP → station twice in one boot:
// the access point must come up and go down again each time.
func TestCycleRepeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home}, homeOptions()).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		for i := range 2 {
			h.radio.SetOn(home.SSID, false)
			h.waitMode(netif.ModeConnecting, 10*time.Second)
			h.advance(grace / 2)
			if h.apUp() {
				t.Fatalf("cycle %d: access point up before the grace period ended", i)
			}
			h.waitMode(netif.ModeAPRetry, grace)
			if !h.apUp() {
				t.Fatalf("cycle %d: ap+retry without the access point up", i)
			}
			h.radio.SetOn(home.SSID, true)
			h.waitMode(netif.ModeStation, 90*time.Second)
			synctest.Wait()
			if h.apUp() {
				t.Fatalf("cycle %d: access point still up after the station came back", i)
			}
		}
		want := []string{"starting", "connecting", "station",
			"connecting", "ap+retry", "station", "connecting", "ap+retry", "station"}
		if got := h.seen(); !slices.Equal(got, want) {
			t.Errorf("modes: got %v, want %v", got, want)
		}
		for msg, n := range map[string]int{"access point up": 2, "access point down": 2, "station link lost": 2, "station link back": 2} {
			if got := h.logs.count(msg); got != n {
				t.Errorf("%q logged %d times, want %d:\n%s", msg, got, n, h.logs)
			}
		}
	})
}

// TestLinkDropLoggedOnce drops the link and keeps the router off for a
// while (shorter than the grace period): many retries, one line each way.
func TestLinkDropLoggedOnce(t *testing.T) {
	tests := []struct {
		name   string
		outage func(r *sim.Radio)
	}{
		{"drop", func(r *sim.Radio) { r.Drop() }},
		{"router off 40s", func(r *sim.Radio) {
			r.SetOn(home.SSID, false)
			time.Sleep(40 * time.Second)
			r.SetOn(home.SSID, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, []sim.Network{home}, homeOptions()).start()
				h.waitMode(netif.ModeStation, 5*time.Second)
				joins := h.radio.Joins()
				tt.outage(h.radio)
				h.advance(time.Second)
				h.waitMode(netif.ModeStation, 90*time.Second)
				h.advance(time.Minute)
				if got := h.m.State(); got.Mode != netif.ModeStation || got.Attempts != 0 || got.LastError != "" {
					t.Errorf("after reconnecting: got %+v, want station with no attempts or error", got)
				}
				if h.apUp() {
					t.Error("access point came up for an outage shorter than the grace period")
				}
				if got := h.radio.Joins() - joins; got < 1 {
					t.Errorf("reconnect joins: got %d, want at least 1", got)
				}
				if n := h.logs.count("station link lost"); n != 1 {
					t.Errorf("\"station link lost\" logged %d times, want 1:\n%s", n, h.logs)
				}
				if n := h.logs.count("station link back"); n != 1 {
					t.Errorf("\"station link back\" logged %d times, want 1:\n%s", n, h.logs)
				}
			})
		})
	}
}

func TestNoStationCredentials(t *testing.T) {
	tests := []struct {
		name string
		sta  config.STA
	}{
		{"empty", config.STA{}},
		{"placeholder", config.STA{SSID: "<AP ssid>", Pass: "<AP password>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := netif.Options{Station: tt.sta, Device: "dev1",
					AP: netif.APConfig{SSID: "<device AP ssid>", Password: "<device AP password>"}}
				h := newHarness(t, []sim.Network{home}, opts).start()
				h.waitMode(netif.ModeAP, time.Second) // at once: no router to wait for
				cfg, up := h.radio.APConfig()
				if !up || cfg.SSID != "tether-dev1" || len(cfg.Password) < 8 {
					t.Errorf("access point: got %+v up=%v, want tether-dev1 with a generated password", cfg, up)
				}
				joins := h.radio.Joins()
				h.advance(10 * time.Minute)
				if got := h.m.State(); got.Mode != netif.ModeAP || !got.AP {
					t.Errorf("later: got %+v, want ap with the AP up", got)
				}
				if got := h.radio.Joins(); got != joins {
					t.Errorf("joins with no credentials: got %d, want %d", got, joins)
				}
			})
		})
	}
}

func TestConfiguredAP(t *testing.T) {
	tests := []struct {
		name     string
		ap       netif.APConfig
		wantSSID string
		wantPass string // "" means generated
	}{
		{"configured", netif.APConfig{SSID: "my-ap", Password: "secret-pass"}, "my-ap", "secret-pass"},
		{"short password", netif.APConfig{SSID: "my-ap", Password: "123"}, "my-ap", ""},
		{"open", netif.APConfig{SSID: "my-ap"}, "my-ap", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil, netif.Options{AP: tt.ap}).start()
				h.waitMode(netif.ModeAP, time.Second)
				cfg, _ := h.radio.APConfig()
				if cfg.SSID != tt.wantSSID {
					t.Errorf("ssid: got %q, want %q", cfg.SSID, tt.wantSSID)
				}
				if tt.wantPass != "" && cfg.Password != tt.wantPass {
					t.Errorf("password: got %q, want %q", cfg.Password, tt.wantPass)
				}
				if tt.wantPass == "" && (len(cfg.Password) < 8 || cfg.Password == tt.ap.Password) {
					t.Errorf("password: got %q, want a generated one of 8+ characters", cfg.Password)
				}
				if got := h.m.APConfig(); got != cfg {
					t.Errorf("APConfig: got %+v, want what the radio got %+v", got, cfg)
				}
			})
		})
	}
}

func TestEnsureAPHoldsUntilRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home}, homeOptions()).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		if err := h.m.EnsureAP(t.Context()); err != nil {
			t.Fatalf("EnsureAP: %v", err)
		}
		h.advance(5 * time.Minute)
		if got := h.m.State(); !h.apUp() || !got.AP || got.Mode != netif.ModeStation {
			t.Fatalf("held: radio AP up %v, state %+v; want the AP up beside the station", h.apUp(), got)
		}
		h.radio.Drop() // the AP must survive a station cycle too
		h.waitMode(netif.ModeConnecting, 10*time.Second)
		h.waitMode(netif.ModeStation, 90*time.Second)
		h.advance(time.Minute)
		if !h.apUp() {
			t.Fatal("held access point went down with the station cycle")
		}
		h.m.ReleaseAP()
		h.advance(time.Second)
		if got := h.m.State(); h.apUp() || got.AP {
			t.Errorf("released: radio AP up %v, state %+v; want the AP down", h.apUp(), got)
		}
	})
}

func TestSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home}, homeOptions())
		ch, end := h.m.Subscribe()
		defer end()
		if s := <-ch; s.Mode != netif.ModeStarting {
			t.Fatalf("first state: got %+v, want starting", s)
		}
		h.start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		if s := <-ch; s.Mode != netif.ModeStation {
			t.Errorf("latest state: got %+v, want station", s)
		}
		select {
		case s := <-ch:
			t.Errorf("more states without a change: %+v", s)
		default:
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home}, homeOptions()).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		if err := h.m.Run(context.Background()); err == nil {
			t.Error("second Run: got nil, want an error")
		}
	})
}

// TestAPFailureLoggedOnce: an access point that will not come up is
// retried, logged once, shown in LastError, and comes up once repaired.
func TestAPFailureLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, nil, netif.Options{Device: "dev1"})
		h.radio.SetAPError(errors.New("radio on fire"))
		h.start()
		h.advance(10 * time.Minute)
		if got := h.m.State(); got.Mode != netif.ModeAP || got.AP || !strings.Contains(got.LastError, "radio on fire") {
			t.Errorf("state: got %+v, want ap, AP down, the failure in LastError", got)
		}
		if n := h.logs.count("access point failed"); n != 1 {
			t.Errorf("\"access point failed\" logged %d times, want 1:\n%s", n, h.logs)
		}
		h.radio.SetAPError(nil)
		h.advance(10 * time.Second)
		if got := h.m.State(); !got.AP || !h.apUp() || got.LastError != "" {
			t.Errorf("repaired: got %+v, want the AP up and no error", got)
		}
	})
}

// TestNoBackend: a Manager without a backend (the device could not open
// one) still works for apps: it reports, refuses changes, and says why.
func TestNoBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := netif.NewManager(netif.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		if got := m.State(); got.Mode != netif.ModeStation || got.LastError != "no network backend" {
			t.Errorf("state: got %+v, want station with \"no network backend\"", got)
		}
		if err := m.StoreStation(ctx, "home", "homepass1"); !errors.Is(err, netif.ErrNotSupported) {
			t.Errorf("StoreStation: got %v, want ErrNotSupported", err)
		}
		if _, err := m.Scan(ctx); !errors.Is(err, netif.ErrNotSupported) {
			t.Errorf("Scan: got %v, want ErrNotSupported", err)
		}
		if m.Backend().Name() != "none" {
			t.Errorf("Backend().Name(): got %q, want none", m.Backend().Name())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
