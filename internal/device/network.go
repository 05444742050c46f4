package device

import (
	"context"
	"encoding/json"
	"os"
	"sync"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/backends"
	"tether/internal/netif/sim"
)

// netState is the network manager running for the device's lifetime. It is
// replaced only when a boot finds the backend or network.json changed.
type netState struct {
	mu     sync.Mutex
	m      *netif.Manager
	key    netKey
	err    error // opening the backend, for every boot with this key
	cancel context.CancelFunc
	done   chan struct{}
}

// netKey is what the running manager was made from.
type netKey struct {
	backend string
	root    string
	network string // network.json as JSON: config.Network holds lists, so is not comparable
}

func (n *netState) manager() *netif.Manager {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m
}

// backendName is the backend the options and cfg ask for.
func (d *Device) backendName(cfg *config.Config) string {
	switch {
	case d.opts.Net != "":
		return d.opts.Net
	case cfg.Network.Net != "":
		return cfg.Network.Net
	}
	return "host"
}

// startNetwork makes sure a network manager runs for cfg, replacing the
// running one if it was made for another backend or network.json. It
// returns the error of opening the backend (then the manager runs on no
// backend, reporting nothing, so apps still get one).
func (d *Device) startNetwork(_ context.Context, cfg *config.Config) error {
	nw, _ := json.Marshal(cfg.Network)
	key := netKey{backend: d.backendName(cfg), root: cfg.Root, network: string(nw)}
	n := &d.net
	n.mu.Lock()
	if n.m != nil && n.key == key {
		defer n.mu.Unlock()
		return n.err
	}
	n.mu.Unlock()
	d.stopNetwork()

	opts := d.opts.NetOptions
	opts.Backend, opts.Station, opts.Device, opts.Logger, opts.Creds = nil, cfg.Network.STA, cfg.Network.Device.IAm, d.root, nil
	opts.Console = d.opts.Console
	opts.AP = netif.APConfig{SSID: cfg.Network.AP.ESSID, Password: cfg.Network.AP.Password, Hidden: cfg.Network.AP.Hidden}
	b, err := d.opts.OpenBackend(key.backend, cfg)
	if err != nil {
		d.log.Error("network backend unavailable", "err", err)
	} else {
		opts.Backend = b
		opts.Creds = d.credStore(cfg)
	}
	m := netif.NewManager(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	n.mu.Lock()
	n.m, n.key, n.err, n.cancel, n.done = m, key, err, cancel, done
	n.mu.Unlock()
	if err == nil {
		d.log.Info("network running", "backend", key.backend)
	}
	return err
}

// credStore opens the credential store of the device root, if any.
func (d *Device) credStore(cfg *config.Config) *netif.CredStore {
	if cfg.Root == "" {
		return nil
	}
	cs, err := netif.OpenCredStore(cfg.Root, cfg.Network)
	if err != nil {
		d.log.Warn("credential store unreadable: credential changes will not survive a reboot", "err", err)
		return nil
	}
	return cs
}

// stopNetwork stops the running manager, if any, and waits for it.
func (d *Device) stopNetwork() {
	n := &d.net
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.m, n.cancel, n.done = nil, nil, nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// SimAPIPEnv names the environment variable that sets the sim backend's
// access point address (sim.Options.APIP), for tests that must be its
// clients (docs/DEVICE.md).
const SimAPIPEnv = "TETHER_SIM_AP_IP"

// openBackend opens the backends this binary has, the sim radio seeded
// with the device id so its made-up addresses stay stable.
func openBackend(name string, cfg *config.Config) (netif.Backend, error) {
	return backends.Open(name, backends.Options{Sim: sim.Options{Seed: cfg.Network.Device.IAm, APIP: os.Getenv(SimAPIPEnv)}})
}
