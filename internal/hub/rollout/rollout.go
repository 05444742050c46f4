// Package rollout is the hub's side of updates: it stores artifacts by
// their SHA-256 (Store), and rolls one out to a list of devices frozen
// when the rollout starts: a canary first, then waves, each device told
// with CMD update [sha256, size, rollout] over its hub connection (through
// the broker, so on whichever hub of a cluster holds it) and followed by
// the update/ keys of its state. A failure threshold pauses a rollout;
// resume and abort are the operator's. Devices offline get the update when
// they come back. Rollouts are kept in a file, so a hub restart resumes
// them. docs/UPDATES.md is the reference.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Devices is what a rollout needs of the hub.
type Devices interface {
	// Send sends a text message to the device, on whichever hub holds it;
	// an error when it is not connected or cannot take it now.
	Send(id string, msg []byte) error
	// Online reports whether the device is connected to a hub.
	Online(id string) bool
	// Shadow returns the device's last known state (a JSON object), or nil.
	Shadow(id string) []byte
	// Known lists the devices the hub knows, with their labels.
	Known() []Device
}

// Device is a device the hub knows, with its labels.
type Device struct {
	ID     string
	Labels []string
}

// Options configure a Manager. Dir and Devices are required.
type Options struct {
	// Dir holds rollouts.json and, unless ArtifactDir says otherwise, the
	// artifact store (Dir/artifacts).
	Dir string
	// ArtifactDir is the artifact store's folder; "" means Dir/artifacts.
	// Hubs of a cluster may share it (each with a Dir of its own), so that
	// a device downloads from its own hub what was pushed to another.
	ArtifactDir string
	Devices     Devices
	// Interval is how often running rollouts are looked at; zero means 1 s.
	Interval time.Duration
	// Resend is how long a device sent an update may stay silent about it
	// before it is sent it again (it takes a repeat as a no-op); zero
	// means 60 s.
	Resend time.Duration
	// MaxArtifact bounds an uploaded artifact; zero means 512 MiB.
	MaxArtifact int64
	// Keep is how many ended rollouts are kept; zero means 100.
	Keep int
	// Logger receives what rollouts do; nil discards it.
	Logger *slog.Logger
}

// Manager runs a hub's rollouts. Create it with New, run it with Run.
type Manager struct {
	opts  Options
	log   *slog.Logger
	store *Store
	wake  chan struct{}

	mu       sync.Mutex
	rollouts []*Rollout // oldest first
	seq      int
}

// New opens the store and the rollouts kept in opts.Dir.
func New(opts Options) (*Manager, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Resend <= 0 {
		opts.Resend = time.Minute
	}
	if opts.MaxArtifact <= 0 {
		opts.MaxArtifact = 512 << 20
	}
	if opts.Keep <= 0 {
		opts.Keep = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" || opts.Devices == nil {
		return nil, errors.New("rollouts: want a folder and the hub's devices")
	}
	if opts.ArtifactDir == "" {
		opts.ArtifactDir = filepath.Join(opts.Dir, "artifacts")
	}
	store, err := OpenStore(opts.ArtifactDir)
	if err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, log: opts.Logger.With("component", "rollout"), store: store, wake: make(chan struct{}, 1)}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// Store is where the artifacts are.
func (m *Manager) Store() *Store { return m.store }

// MaxArtifact is the largest artifact accepted.
func (m *Manager) MaxArtifact() int64 { return m.opts.MaxArtifact }

// Run looks at the running rollouts every Interval (and when poked)
// until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		m.tick()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}

// Poke has Run look at the rollouts now: a device came or went.
func (m *Manager) Poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Errors of the API, for the HTTP status.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrBad      = errors.New("bad request")
)

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBad, fmt.Sprintf(format, args...))
}
