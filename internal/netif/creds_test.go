package netif_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/sim"
	"tether/internal/tethertest"
)

// seedNetwork is network.json as a device root holds it.
func seedNetwork() config.Network {
	return config.Network{
		Device: config.Device{IAm: "dev1", Dev: "rpi4"},
		STA:    config.STA{SSID: home.SSID, Pass: home.Password},
	}
}

func openStore(t *testing.T, root string) *netif.CredStore {
	t.Helper()
	c, err := netif.OpenCredStore(root, seedNetwork())
	if err != nil {
		t.Fatalf("OpenCredStore: %v", err)
	}
	return c
}

// needSaveNetwork skips the parts that need config.SaveNetwork while it is
// still being written.
func needSaveNetwork(t *testing.T) {
	t.Helper()
	if err := config.SaveNetwork(t.TempDir(), seedNetwork()); err != nil {
		t.Skipf("config.SaveNetwork does not work yet: %v", err)
	}
}

func TestTestStation(t *testing.T) {
	tests := []struct {
		name     string
		ssid     string
		pass     string
		wantErr  string // "" means success
		wantSSID string // where the station ends up
	}{
		{"works", other.SSID, other.Password, "", other.SSID},
		{"wrong password", other.SSID, "nope-nope", "wrong password", home.SSID},
		{"not in range", "nowhere", "whatever1", "not in range", home.SSID},
		{"empty ssid", "", "x", "want an ssid", home.SSID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, []sim.Network{home, other}, homeOptions()).start()
				h.waitMode(netif.ModeStation, 5*time.Second)
				err := h.m.TestStation(t.Context(), tt.ssid, tt.pass)
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("TestStation: got %v, want error containing %q", err, tt.wantErr)
				}
				h.advance(time.Minute)
				if got := h.stationSSID(); got != tt.wantSSID {
					t.Errorf("station after the test: got %q, want %q", got, tt.wantSSID)
				}
				if got := h.m.State(); got.Mode != netif.ModeStation || h.apUp() {
					t.Errorf("state after the test: got %+v, want station without the AP", got)
				}
				if tt.wantErr != "" && tt.ssid != "" && !strings.Contains(h.m.State().LastError, tt.wantErr) {
					t.Errorf("LastError: got %q, want it to contain %q", h.m.State().LastError, tt.wantErr)
				}
			})
		})
	}
}

func TestStoreStationBadPasswordRollsBack(t *testing.T) {
	root := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		opts := homeOptions()
		opts.Creds = openStore(t, root)
		h := newHarness(t, []sim.Network{home, other}, opts).start()
		h.waitMode(netif.ModeStation, 5*time.Second)

		err := h.m.StoreStation(t.Context(), other.SSID, "typo-typo")
		if err == nil || !errors.Is(err, sim.ErrWrongPassword) {
			t.Fatalf("StoreStation: got %v, want a wrong password error", err)
		}
		h.advance(time.Minute)
		if got := h.stationSSID(); got != home.SSID {
			t.Errorf("station after the rollback: got %q, want the last good %q", got, home.SSID)
		}
		if got := h.m.State(); got.Mode != netif.ModeStation || !strings.Contains(got.LastError, "wrong password") {
			t.Errorf("state: got %+v, want station with the failure in LastError", got)
		}
		h.radio.Drop() // the monitor reconnects with the old credentials
		h.waitMode(netif.ModeConnecting, 10*time.Second)
		h.waitMode(netif.ModeStation, 30*time.Second)
		if got := h.stationSSID(); got != home.SSID {
			t.Errorf("station after a drop: got %q, want %q", got, home.SSID)
		}
	})
	c := openStore(t, root) // what survives a reboot
	if sta, ok := c.Pending(); ok {
		t.Errorf("pending after rollback: got %+v, want none", sta)
	}
	f, ok := c.LastFailure()
	if !ok || f.SSID != other.SSID || !strings.Contains(f.Error, "wrong password") {
		t.Errorf("last failure on disk: got %+v %v, want %q with wrong password", f, ok, other.SSID)
	}
	if got := c.LastGood(); got.SSID != home.SSID {
		t.Errorf("last good: got %+v, want %q", got, home.SSID)
	}
	if _, err := os.Stat(filepath.Join(root, config.NetworkFile)); err == nil {
		t.Error("network.json was written for credentials that failed")
	}
}

func TestStoreStationWorks(t *testing.T) {
	needSaveNetwork(t)
	root := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		opts := homeOptions()
		opts.Creds = openStore(t, root)
		h := newHarness(t, []sim.Network{home, other}, opts).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		if err := h.m.StoreStation(t.Context(), other.SSID, other.Password); err != nil {
			t.Fatalf("StoreStation: %v", err)
		}
		h.radio.Drop() // reconnects to the new network, not the old one
		h.waitMode(netif.ModeConnecting, 10*time.Second)
		h.waitMode(netif.ModeStation, 30*time.Second)
		if got := h.stationSSID(); got != other.SSID {
			t.Errorf("station after a drop: got %q, want the stored %q", got, other.SSID)
		}
	})
	c := openStore(t, root)
	if _, ok := c.Pending(); ok {
		t.Error("still pending after success")
	}
	if got := c.LastGood(); got.SSID != other.SSID {
		t.Errorf("last good: got %+v, want %q", got, other.SSID)
	}
	data, err := os.ReadFile(filepath.Join(root, config.NetworkFile))
	if err != nil {
		t.Fatal(err)
	}
	var n config.Network
	if err := json.Unmarshal(data, &n); err != nil {
		t.Fatalf("network.json: %v", err)
	}
	if n.STA.SSID != other.SSID || n.STA.Pass != other.Password || n.Device.IAm != "dev1" {
		t.Errorf("network.json: got %+v, want sta %q and the rest kept", n, other.SSID)
	}
}

// TestPendingAtBoot leaves credentials pending, as a device that rebooted
// before trying them would, and boots.
func TestPendingAtBoot(t *testing.T) {
	tests := []struct {
		name       string
		pending    config.STA
		wantSSID   string
		wantFailed bool
	}{
		{"typo rolls back", config.STA{SSID: other.SSID, Pass: "typo-typo"}, home.SSID, true},
		{"gone network rolls back", config.STA{SSID: "nowhere", Pass: "whatever1"}, home.SSID, true},
		{"good ones are kept", config.STA{SSID: other.SSID, Pass: other.Password}, other.SSID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.wantFailed {
				needSaveNetwork(t)
			}
			root := t.TempDir()
			if err := openStore(t, root).SetPending(tt.pending); err != nil {
				t.Fatalf("SetPending: %v", err)
			}
			synctest.Test(t, func(t *testing.T) {
				opts := homeOptions()
				opts.Creds = openStore(t, root) // reloaded from disk, as at boot
				h := newHarness(t, []sim.Network{home, other}, opts).start()
				h.waitMode(netif.ModeStation, grace+30*time.Second)
				if got := h.stationSSID(); got != tt.wantSSID {
					t.Errorf("station: got %q, want %q", got, tt.wantSSID)
				}
				if h.apUp() {
					t.Error("access point up while a good network is in range")
				}
				if tt.wantFailed && h.logs.count("station credentials rolled back") != 1 {
					t.Errorf("want one rollback logged:\n%s", h.logs)
				}
			})
			c := openStore(t, root)
			if sta, ok := c.Pending(); ok {
				t.Errorf("pending after boot: got %+v, want none", sta)
			}
			f, failed := c.LastFailure()
			if failed != tt.wantFailed || failed && f.SSID != tt.pending.SSID {
				t.Errorf("last failure: got %+v %v, want failed=%v for %q", f, failed, tt.wantFailed, tt.pending.SSID)
			}
			if got := c.LastGood(); got.SSID != tt.wantSSID {
				t.Errorf("last good: got %+v, want %q", got, tt.wantSSID)
			}
		})
	}
}

func TestCredStoreFile(t *testing.T) {
	root := t.TempDir()
	c := openStore(t, root)
	if err := c.SetPending(config.STA{SSID: "a", Pass: "b"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, netif.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600 (it holds passwords)", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Errorf("files in root: got %d, want only %s (no temp files left)", len(ents), netif.StateFile)
	}
	if err := os.WriteFile(filepath.Join(root, netif.StateFile), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := netif.OpenCredStore(root, seedNetwork()); err == nil || !strings.Contains(err.Error(), netif.StateFile) {
		t.Errorf("broken file: got %v, want an error naming %s", err, netif.StateFile)
	}
}

// TestGeneratedAPPasswordKept: the generated password is kept across
// reboots, written to the console once, when it is made, and never logged.
func TestGeneratedAPPasswordKept(t *testing.T) {
	root := t.TempDir()
	var console, logs tethertest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	first := netif.NewManager(netif.Options{Creds: openStore(t, root), Console: &console, Logger: log}).APConfig()
	again := netif.NewManager(netif.Options{Creds: openStore(t, root), Console: &console, Logger: log}).APConfig()
	if first.SSID != "tether-dev1" || len(first.Password) < 8 {
		t.Errorf("access point: got %+v, want tether-dev1 with a generated password", first)
	}
	if again != first {
		t.Errorf("after a reboot: got %+v, want the same %+v", again, first)
	}
	if n := strings.Count(console.String(), first.Password); n != 1 {
		t.Errorf("console shows the password %d times, want once:\n%s", n, console.String())
	}
	if strings.Contains(logs.String(), first.Password) {
		t.Errorf("the log holds the password:\n%s", logs.String())
	}
}

// TestStoreStationNotSaved: the join works but network.json cannot be
// written; the error says so and the credentials stay pending, so the next
// boot tries (and saves) them again.
func TestStoreStationNotSaved(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, config.NetworkFile), 0o755); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		opts := homeOptions()
		opts.Creds = openStore(t, root)
		h := newHarness(t, []sim.Network{home, other}, opts).start()
		h.waitMode(netif.ModeStation, 5*time.Second)
		err := h.m.StoreStation(t.Context(), other.SSID, other.Password)
		if err == nil {
			t.Fatal("StoreStation: got nil, want an error saving network.json")
		}
		if got := h.m.State().LastError; got == "" {
			t.Error("LastError empty after a failed save")
		}
		if got := h.stationSSID(); got != other.SSID {
			t.Errorf("station: got %q, want the working %q", got, other.SSID)
		}
	})
	if sta, ok := openStore(t, root).Pending(); !ok || sta.SSID != other.SSID {
		t.Errorf("pending on disk: got %+v %v, want %q", sta, ok, other.SSID)
	}
}

// TestStoreStationFromAP: a person on the access point of a device with no
// station stores working credentials; the device joins and the access point
// goes down by itself.
func TestStoreStationFromAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []sim.Network{home, other}, netif.Options{Device: "dev1"}).start()
		h.waitMode(netif.ModeAP, time.Second)
		if err := h.m.StoreStation(t.Context(), "nowhere", "whatever1"); err == nil {
			t.Fatal("StoreStation of a network not in range: got nil, want an error")
		}
		h.advance(time.Minute)
		if got := h.m.State(); got.Mode != netif.ModeAP || !h.apUp() {
			t.Fatalf("after a failed store: got %+v, want ap with the AP up", got)
		}
		if err := h.m.StoreStation(t.Context(), other.SSID, other.Password); err != nil {
			t.Fatalf("StoreStation: %v", err)
		}
		h.waitMode(netif.ModeStation, 10*time.Second)
		if h.apUp() {
			t.Error("access point still up after the station came up")
		}
		h.radio.SetOn(other.SSID, false) // and the fallback works with the new network
		h.waitMode(netif.ModeAPRetry, 2*grace)
		h.radio.SetOn(other.SSID, true)
		h.waitMode(netif.ModeStation, 90*time.Second)
	})
}
