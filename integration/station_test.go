package integration

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/sim"
)

// TestStationDropCallHomeResumes runs the device's network manager on the
// sim radio and its call-home client, through a TCP proxy, to a real hub.
// Each round drops the station link (sim's Drop) and cuts the proxy's open
// connections, as a lost WiFi link silences TCP on a real board: the
// manager notices, rejoins and is back in "station"; call-home notices by
// its keepalive and connects again; the hub's page sees the device go and
// come back and relays to it.
func TestStationDropCallHomeResumes(t *testing.T) {
	h := startHub(t, 0, "--ping", "1s")
	px := startProxy(t, h.dev)
	radio := sim.New(sim.Options{JoinDelay: 50 * time.Millisecond, Seed: "Device_1"})
	m := netif.NewManager(netif.Options{
		Backend: radio, Station: config.STA{SSID: "tether-lab", Pass: "tether123"}, Device: "Device_1",
		Monitor: 100 * time.Millisecond, Retry: 100 * time.Millisecond, RetryMax: time.Second, Grace: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	states, stop := m.Subscribe()
	defer stop()
	wg.Add(1)
	go func() { defer wg.Done(); m.Run(ctx) }()
	waitMode(t, m, states, netif.ModeStation, 20*time.Second)

	f := newFleet()
	defer f.wg.Wait() // after cancel, deferred later
	defer cancel()
	f.startOpts(ctx, px.addr(), "Device_1", 200*time.Millisecond, time.Second, time.Second)
	f.waitCount(t, 1, 1, 20*time.Second)
	page := dialRaw(t, h.page, "/Device_1")
	page.waitText(`"hub/device/connected": true`, 10*time.Second)

	const rounds = 3
	for r := 1; r <= rounds; r++ {
		start := time.Now()
		radio.Drop()
		px.cut()
		waitMode(t, m, states, netif.ModeConnecting, 10*time.Second)
		waitMode(t, m, states, netif.ModeStation, 20*time.Second)
		relinked := time.Since(start)
		page.waitText(`"hub/device/connected":false`, 15*time.Second)
		f.waitCount(t, r+1, 1, 30*time.Second)
		page.waitText(`"hub/device/connected": true`, 15*time.Second)
		page.sendText("round")
		page.waitText("round", 10*time.Second)
		t.Logf("round %d: station back after %v, call-home back after %v", r, relinked.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}

// waitMode waits for the manager to report mode.
func waitMode(t *testing.T, m *netif.Manager, states <-chan netif.State, mode string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for m.State().Mode != mode {
		select {
		case <-states:
		case <-time.After(50 * time.Millisecond):
		case <-timeout:
			t.Fatalf("network mode %q after %v, want %q", m.State().Mode, d, mode)
		}
	}
}
