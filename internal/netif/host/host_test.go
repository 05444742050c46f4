package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/host"
)

const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStationStatus(t *testing.T) {
	resolv := write(t, "resolv.conf", "# made by a test\nsearch lan\nnameserver 192.168.1.1\nnameserver 9.9.9.9\n")
	tests := []struct {
		name   string
		routes string
		want   netif.StationStatus
	}{
		{
			"default route on lo",
			header +
				"lo\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
				"lo\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
			netif.StationStatus{Active: true, Connected: true, Interface: "lo", IP: "127.0.0.1",
				Gateway: "192.168.1.1", DNS: []string{"192.168.1.1", "9.9.9.9"}},
		},
		{
			"default route down is skipped",
			header + "lo\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n",
			netif.StationStatus{DNS: []string{"192.168.1.1", "9.9.9.9"}},
		},
		{
			"no default route",
			header + "lo\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
			netif.StationStatus{DNS: []string{"192.168.1.1", "9.9.9.9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := host.New(host.Options{RouteFile: write(t, "route", tt.routes), ResolvConf: resolv})
			got, err := h.StationStatus(t.Context())
			if err != nil {
				t.Fatalf("StationStatus: %v", err)
			}
			if got.Active != tt.want.Active || got.Connected != tt.want.Connected || got.Interface != tt.want.Interface ||
				got.IP != tt.want.IP || got.Gateway != tt.want.Gateway || got.MAC != tt.want.MAC ||
				!slices.Equal(got.DNS, tt.want.DNS) {
				t.Errorf("StationStatus:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStationStatusErrors(t *testing.T) {
	tests := []struct {
		name, routes, want string
	}{
		{"missing table", "", "no such file"},
		{"bad gateway", header + "lo\t00000000\tZZ\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", `gateway "ZZ"`},
		{"unknown interface", header + "nosuch9\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", "nosuch9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "absent")
			if tt.routes != "" {
				path = write(t, "route", tt.routes)
			}
			_, err := host.New(host.Options{RouteFile: path}).StationStatus(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StationStatus: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRealHost reads this machine's real tables: no error, and when there
// is a default route, an interface and gateway.
func TestRealHost(t *testing.T) {
	if _, err := os.Stat("/proc/net/route"); err != nil {
		t.Skip("no /proc/net/route here")
	}
	st, err := host.New(host.Options{}).StationStatus(t.Context())
	if err != nil {
		t.Fatalf("StationStatus: %v", err)
	}
	if st.Connected && (st.Interface == "" || st.Gateway == "") {
		t.Errorf("connected without interface or gateway: %+v", st)
	}
}

func TestChangesNotSupported(t *testing.T) {
	h := host.New(host.Options{})
	ctx := t.Context()
	ops := map[string]func() error{
		"join":              func() error { return h.Join(ctx, "x", "y") },
		"leave":             func() error { return h.Leave(ctx) },
		"scan":              func() error { _, err := h.Scan(ctx); return err },
		"access point up":   func() error { return h.APUp(ctx, netif.APConfig{SSID: "x"}) },
		"access point down": func() error { return h.APDown(ctx) },
	}
	for op, f := range ops {
		err := f()
		if !errors.Is(err, netif.ErrNotSupported) {
			t.Errorf("%s: got %v, want ErrNotSupported", op, err)
		}
		if want := op + ": not supported by the host backend"; err == nil || err.Error() != want {
			t.Errorf("%s: got %q, want %q", op, err, want)
		}
	}
}

// TestManagerOnHost: the state machine only reports "station" and never
// tries an access point or a credential change.
func TestManagerOnHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := netif.NewManager(netif.Options{Backend: host.New(host.Options{}),
			Station: config.STA{SSID: "home", Pass: "homepass1"}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := m.State(); got.Mode != netif.ModeStation || got.AP {
			t.Errorf("state: got %+v, want station without AP", got)
		}
		for name, err := range map[string]error{
			"EnsureAP":     m.EnsureAP(ctx),
			"TestStation":  m.TestStation(ctx, "other", "otherpass"),
			"StoreStation": m.StoreStation(ctx, "other", "otherpass"),
		} {
			if !errors.Is(err, netif.ErrNotSupported) || !strings.Contains(err.Error(), "not supported by the host backend") {
				t.Errorf("%s: got %v, want \"not supported by the host backend\"", name, err)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if got := m.State().Mode; got != netif.ModeStopped {
			t.Errorf("after Run: got %q, want stopped", got)
		}
	})
}
