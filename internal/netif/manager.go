package netif

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"tether/internal/config"
)

// Modes of the state machine, in State.Mode.
const (
	// ModeStarting is before Run.
	ModeStarting = "starting"
	// ModeConnecting is trying the station: after power-on, or after the
	// link dropped, until it is back or the grace period ends.
	ModeConnecting = "connecting"
	// ModeStation is joined to the station network.
	ModeStation = "station"
	// ModeAP is the access point up with no station credentials to try.
	ModeAP = "ap"
	// ModeAPRetry is the access point up while the station is retried.
	ModeAPRetry = "ap+retry"
	// ModeStopped is after Run returned.
	ModeStopped = "stopped"
)

// Options configures a Manager. The zero value works: a backend that
// supports nothing, no station, and the defaults below.
type Options struct {
	// Backend is the radio. Nil means one that reports nothing and
	// supports nothing (Name "none"), handled like a passive backend.
	Backend Backend
	// Station is the network to join (network.json's sta). An empty or
	// placeholder ("<AP ssid>") SSID means none: the access point comes up
	// at once, since there is no router to wait for. When empty and Creds
	// is set, the CredStore's network is used.
	Station config.STA
	// AP is the access point brought up when the station cannot be
	// reached. An empty SSID means one named after Device; a password
	// shorter than 8 characters (WPA2's minimum) means a generated one, kept
	// in Creds when set, so the access point is never open.
	AP APConfig
	// Device names the default access point ("tether-<Device>"); "" means
	// the CredStore's device id, else "device".
	Device string
	// Grace is how long the station is tried after power-on, or after the
	// link drops, before the access point comes up; zero means 60 s.
	Grace time.Duration
	// Retry is the first delay between station attempts, doubling (with
	// jitter) up to RetryMax; zero means 5 s.
	Retry time.Duration
	// RetryMax caps the delay between station attempts; zero means 60 s.
	RetryMax time.Duration
	// Monitor is how often the station link is checked; zero means 5 s.
	Monitor time.Duration
	// JoinTimeout bounds one join attempt; zero means 30 s.
	JoinTimeout time.Duration
	// Creds persists pending and last-good credentials. Nil means changes
	// live only in memory and nothing is rolled back at boot.
	Creds *CredStore
	// Logger receives the transitions; nil means slog.Default(). It never
	// receives a password: its lines reach the recovery page's recent log
	// and, through it, the hub.
	Logger *slog.Logger
	// Console receives, once, the access point password the Manager
	// generates, when it generates it, for the person at the device's
	// console (its first boot); it is kept in Creds and never shown again.
	// Nil shows it nowhere.
	Console io.Writer
}

// State is the state machine's state, for apps to show.
type State struct {
	// Mode is one of the Mode constants.
	Mode string `json:"mode"`
	// Since is when Mode last changed.
	Since time.Time `json:"since"`
	// LastError is the last station or credential failure; "" after none.
	LastError string `json:"last_error,omitempty"`
	// Attempts counts station attempts failed since the last success.
	Attempts int `json:"attempts"`
	// AP reports whether the access point is up (it can be beside the
	// station while EnsureAP holds it).
	AP bool `json:"ap"`
}

// Manager runs the device's network state machine and its credential
// changes. Its methods are safe for concurrent use; operations on the radio
// are serialised, so a TestStation waits for a join attempt of the state
// machine and the other way round.
type Manager struct {
	opts    Options // defaults applied
	b       Backend
	log     *slog.Logger
	creds   *CredStore
	passive bool
	single  bool // station and access point share one radio

	radio sync.Mutex    // held across each sequence of backend calls
	apErr string        // last access point failure logged; guarded by radio
	wake  chan struct{} // nudges Run to look again; buffered 1

	mu      sync.Mutex // guards the fields below
	state   State
	sta     config.STA
	apCfg   APConfig
	held    bool
	running bool
	subs    map[int]chan State
	nextSub int
}

// NewManager returns a Manager in mode "starting"; Run starts it.
func NewManager(opts Options) *Manager {
	o := withDefaults(opts)
	m := &Manager{
		opts:  o,
		b:     o.Backend,
		log:   o.Logger.With("component", "netif", "backend", o.Backend.Name()),
		creds: o.Creds,
		wake:  make(chan struct{}, 1),
		subs:  map[int]chan State{},
		state: State{Mode: ModeStarting, Since: time.Now()},
		sta:   o.Station,
	}
	if p, ok := o.Backend.(Passive); ok && p.Passive() {
		m.passive = true
	}
	if s, ok := o.Backend.(SingleRadio); ok && s.SingleRadio() {
		m.single = true
	}
	if !isSet(m.sta.SSID) && m.creds != nil {
		m.sta = m.creds.Network().STA
	}
	if !isSet(m.sta.SSID) {
		m.sta = config.STA{}
	}
	return m
}

func withDefaults(o Options) Options {
	if o.Backend == nil {
		o.Backend = noBackend{}
	}
	if o.Grace <= 0 {
		o.Grace = 60 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 60 * time.Second
	}
	if o.Monitor <= 0 {
		o.Monitor = 5 * time.Second
	}
	if o.JoinTimeout <= 0 {
		o.JoinTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// isSet reports whether a config value is filled in: not empty and not an
// angle-bracket placeholder.
func isSet(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && !(strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">"))
}

// Backend returns the radio the Manager drives.
func (m *Manager) Backend() Backend { return m.b }

// State returns the current state.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Subscribe returns a channel that receives the state after every change
// (the latest only, if the reader falls behind) and a function that ends
// the subscription. The current state is sent at once.
func (m *Manager) Subscribe() (<-chan State, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan State, 1)
	id := m.nextSub
	m.nextSub++
	m.subs[id] = ch
	ch <- m.state
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// update changes the state with f and tells the subscribers.
func (m *Manager) update(f func(s *State)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.state
	f(&m.state)
	if m.state.Mode != old.Mode {
		m.state.Since = time.Now()
	}
	if m.state == old {
		return
	}
	for _, ch := range m.subs {
		select { // keep only the latest
		case <-ch:
		default:
		}
		ch <- m.state
	}
}

func (m *Manager) setMode(mode string) { m.update(func(s *State) { s.Mode = mode }) }

func (m *Manager) setError(err error) {
	m.update(func(s *State) { s.LastError = err.Error() })
}

// station returns the stored station credentials.
func (m *Manager) station() config.STA {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sta
}

// nudge asks Run to look at the radio again now.
func (m *Manager) nudge() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Stored returns the name of the stored station network, the one the
// device joins and rejoins; "" when it has none.
func (m *Manager) Stored() string { return m.station().SSID }

// Station reports the station interface.
func (m *Manager) Station(ctx context.Context) (StationStatus, error) {
	return m.b.StationStatus(ctx)
}

// AP reports the access point.
func (m *Manager) AP(ctx context.Context) (APStatus, error) {
	return m.b.APStatus(ctx)
}

// Scan lists the networks in range.
func (m *Manager) Scan(ctx context.Context) ([]Network, error) {
	m.radio.Lock()
	defer m.radio.Unlock()
	return m.b.Scan(ctx)
}

// errNoBackend is what the nil backend says.
var errNoBackend = errors.New("no network backend")

// noBackend is Options.Backend's nil: passive, empty, supports nothing.
type noBackend struct{}

func (noBackend) Name() string  { return "none" }
func (noBackend) Passive() bool { return true }
func (noBackend) Scan(context.Context) ([]Network, error) {
	return nil, &NotSupportedError{Op: "scan", Backend: "none"}
}
func (noBackend) Join(context.Context, string, string) error {
	return &NotSupportedError{Op: "join", Backend: "none"}
}
func (noBackend) Leave(context.Context) error {
	return &NotSupportedError{Op: "leave", Backend: "none"}
}
func (noBackend) StationStatus(context.Context) (StationStatus, error) {
	return StationStatus{}, errNoBackend
}
func (noBackend) APUp(context.Context, APConfig) error {
	return &NotSupportedError{Op: "access point up", Backend: "none"}
}
func (noBackend) APDown(context.Context) error {
	return &NotSupportedError{Op: "access point down", Backend: "none"}
}
func (noBackend) APStatus(context.Context) (APStatus, error) { return APStatus{}, nil }
