// Package sim is a simulated WiFi radio: a netif.Backend with a scan list of
// networks and their passwords, a station that joins them (checking the
// password after a short simulated delay), an access point that goes up and
// down, and knobs for tests and the demo to drop the link or switch a
// router off and on.
//
// A device selects it with "net": "sim" in network.json or --net sim on the
// command line; it is the default of the embedded config, so `tether demo`
// shows WiFi panels with something in them. A Radio is safe for concurrent
// use; its addresses and MACs are made up but stable.
package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"tether/internal/netif"
)

// Network is one simulated network a router offers.
type Network struct {
	SSID string
	// Password is what Join must be given; "" means an open network.
	Password string
	// Signal is the strength shown in scans, 0-100; zero means 60.
	Signal int
	// Off makes the router start switched off: not in scans, not joinable.
	Off bool
}

// Options configures a Radio. The zero value offers the demo networks.
type Options struct {
	// Networks is the scan list. Nil means DemoNetworks().
	Networks []Network
	// JoinDelay is how long a join takes to succeed or fail; zero means
	// 200 ms, negative means no delay.
	JoinDelay time.Duration
	// Seed makes the MACs (the device id is a good seed); "" means "tether".
	Seed string
	// SingleRadio makes the station and access point share one radio, as
	// on NetworkManager: a Join takes the access point down and APUp
	// leaves the network. False means both run at once, as on an ESP32.
	SingleRadio bool
	// APIP is the access point's address; "" means 192.168.4.1, an
	// ESP32's. A test that must be a client of the access point (its
	// address in the access point's subnet, as for recovery's password
	// reset) sets a loopback one such as 127.0.4.1 and connects from
	// 127.0.4.2.
	APIP string
}

// ErrWrongPassword is Join's error for a wrong password.
var ErrWrongPassword = errors.New("wrong password")

// ErrNotInRange is Join's error for a network that is not in range.
var ErrNotInRange = errors.New("network not in range")

// DemoNetworks are the networks a zero Options offers: "tether-lab"
// (password "tether123"), "tether-guest" (password "guest1234") and an
// open "cafe".
func DemoNetworks() []Network {
	return []Network{
		{SSID: "tether-lab", Password: "tether123", Signal: 78},
		{SSID: "tether-guest", Password: "guest1234", Signal: 52},
		{SSID: "cafe", Signal: 31},
	}
}

// Radio is a simulated station and access point.
type Radio struct {
	delay  time.Duration
	seed   string
	single bool
	apIP   string

	mu     sync.Mutex
	nets   []Network
	gen    int    // bumps on every Join/Leave/Drop, so stale joins lose
	joined string // connected SSID, "" when not
	ap     *netif.APConfig
	apErr  error
	joins  int
}

var _ netif.Backend = (*Radio)(nil)

// New returns a Radio with opts applied.
func New(opts Options) *Radio {
	r := &Radio{delay: opts.JoinDelay, seed: opts.Seed, single: opts.SingleRadio, apIP: cmp.Or(opts.APIP, "192.168.4.1")}
	if r.delay == 0 {
		r.delay = 200 * time.Millisecond
	}
	if r.seed == "" {
		r.seed = "tether"
	}
	r.nets = slices.Clone(opts.Networks)
	if opts.Networks == nil {
		r.nets = DemoNetworks()
	}
	return r
}

// SingleRadio reports Options.SingleRadio.
func (r *Radio) SingleRadio() bool { return r.single }

// Name returns "sim".
func (r *Radio) Name() string { return "sim" }

// Scan lists the networks whose routers are on.
func (r *Radio) Scan(ctx context.Context) ([]netif.Network, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netif.Network
	for _, n := range r.nets {
		if n.Off {
			continue
		}
		out = append(out, netif.Network{SSID: n.SSID, Signal: signal(n), Secure: n.Password != ""})
	}
	return out, nil
}

func signal(n Network) int {
	if n.Signal == 0 {
		return 60
	}
	return n.Signal
}

// Join leaves the current network, waits the join delay and connects if
// ssid is on and pass matches.
func (r *Radio) Join(ctx context.Context, ssid, pass string) error {
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.joined = ""
	r.joins++
	if r.single {
		r.ap = nil
	}
	r.mu.Unlock()

	if r.delay > 0 {
		t := time.NewTimer(r.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("join %q: %w", ssid, ctx.Err())
		case <-t.C:
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen {
		return fmt.Errorf("join %q: interrupted by another join or leave", ssid)
	}
	n, ok := r.find(ssid)
	switch {
	case !ok || n.Off:
		return fmt.Errorf("join %q: %w", ssid, ErrNotInRange)
	case n.Password != pass:
		return fmt.Errorf("join %q: %w", ssid, ErrWrongPassword)
	}
	r.joined = ssid
	return nil
}

func (r *Radio) find(ssid string) (Network, bool) {
	i := slices.IndexFunc(r.nets, func(n Network) bool { return n.SSID == ssid })
	if i < 0 {
		return Network{}, false
	}
	return r.nets[i], true
}

// Leave disconnects the station.
func (r *Radio) Leave(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	r.joined = ""
	return nil
}

// StationStatus reports the station. Its address is 192.168.N.x on a
// subnet derived from the SSID, the gateway .1 and DNS the gateway.
func (r *Radio) StationStatus(ctx context.Context) (netif.StationStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := netif.StationStatus{Active: true, MAC: r.mac(1), Interface: "sim0"}
	if r.joined == "" {
		return st, nil
	}
	subnet := 10 + hash(r.joined)%200 // never 4, the access point's
	st.Connected = true
	st.SSID = r.joined
	st.IP = fmt.Sprintf("192.168.%d.%d", subnet, 2+hash(r.seed)%250)
	st.Gateway = fmt.Sprintf("192.168.%d.1", subnet)
	st.DNS = []string{st.Gateway}
	if n, ok := r.find(r.joined); ok {
		st.Signal = signal(n)
	}
	return st, nil
}

// APUp brings the access point up (again) with cfg.
func (r *Radio) APUp(ctx context.Context, cfg netif.APConfig) error {
	if cfg.SSID == "" {
		return errors.New("access point up: empty ssid")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.apErr != nil {
		return fmt.Errorf("access point up: %w", r.apErr)
	}
	r.ap = &cfg
	if r.single {
		r.gen++
		r.joined = ""
	}
	return nil
}

// APDown takes the access point down; it is not an error if it was down.
func (r *Radio) APDown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ap = nil
	return nil
}

// APStatus reports the access point, at Options.APIP (192.168.4.1 like an
// ESP32's by default).
func (r *Radio) APStatus(ctx context.Context) (netif.APStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := netif.APStatus{MAC: r.mac(2)}
	if r.ap != nil {
		st.Active, st.SSID, st.IP = true, r.ap.SSID, r.apIP
	}
	return st, nil
}

// APConfig returns what the access point was last brought up with, and
// whether it is up.
func (r *Radio) APConfig() (netif.APConfig, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ap == nil {
		return netif.APConfig{}, false
	}
	return *r.ap, true
}

// Drop drops the station link, as a flaky router would; the station stays
// down until the next Join.
func (r *Radio) Drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	r.joined = ""
}

// SetOn switches the router of ssid on or off. Off drops a station joined
// to it. An unknown ssid is added (with no password) when switched on.
func (r *Radio) SetOn(ssid string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.nets, func(n Network) bool { return n.SSID == ssid })
	if i < 0 {
		if on {
			r.nets = append(r.nets, Network{SSID: ssid})
		}
		return
	}
	r.nets[i].Off = !on
	if !on && r.joined == ssid {
		r.gen++
		r.joined = ""
	}
}

// Add adds n to the scan list, or replaces the network of the same SSID.
func (r *Radio) Add(n Network) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.IndexFunc(r.nets, func(x Network) bool { return x.SSID == n.SSID }); i >= 0 {
		r.nets[i] = n
		return
	}
	r.nets = append(r.nets, n)
}

// SetAPError makes APUp fail with err (a broken radio); nil repairs it.
func (r *Radio) SetAPError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.apErr = err
}

// Joins counts the Join calls so far.
func (r *Radio) Joins() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joins
}

// mac makes a stable, locally administered MAC for interface n.
func (r *Radio) mac(n int) string {
	h := hash(r.seed)
	return fmt.Sprintf("02:54:%02x:%02x:%02x:%02x", byte(h>>16), byte(h>>8), byte(h), n)
}

func hash(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() & 0x7fffffff)
}
