// Package ops serves tether's own operator items, beside an app's own
// items, on every command API the device runs (the demo app's, recovery's,
// and those of apps to come), locally and over the call-home connection:
// restart; system information (sys/ keys, also sent every SysInterval);
// the config files, masked, and applying a change to them with automatic
// revert; the log, recent and live; the WiFi scan list; and enrollment
// with a hub by a one-time code (applied as a config change).
// docs/PROTOCOL.md ("Operator items") is the reference.
//
// A Service lives as long as the device: it holds the pending config
// change (on disk, in ApplyFile, so a restart in the middle of a confirm
// window resumes it) and runs the window in Run. Each run of an app gets a
// Session from it (apps.Env.Ops), which adds the items to the app's
// cmdapi.Server, the change's keys to its state object, and hears how its
// call-home link fares.
//
// The window's rule: a change that has not been confirmed when its window
// ends is checked. If the device was on its hub before the change and is
// not now, or its app has failed since the change, the previous files are
// put back and the device boots again; otherwise the change is kept.
package ops

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/devlog"
	"tether/internal/sysinfo"
	"tether/internal/wire"
)

// Options configure a Service. The zero value works: no device root (no
// config items), a log of its own, the defaults below.
type Options struct {
	// Root is the device root holding the config files; "" means the
	// device runs on embedded defaults, and the config items refuse.
	Root string
	// Log is the device's log; nil means an empty one.
	Log *devlog.Log
	// Health reports what the device is doing; nil means a healthy demo.
	Health func() Health
	// Version is tether's version, for sys/version.
	Version string
	// Checks are the device's config checks (apps.ConfigChecks), run on
	// every change as recovery's save runs them; the zero value runs the
	// checks every device shares.
	Checks config.Machine
	// Window is a change's confirm window when the request names none;
	// zero means 60 s.
	Window time.Duration
	// MinResume is the least window left to a change found pending at
	// start (or its whole window, when shorter), so the device has time to
	// reach its hub; zero means 20 s.
	MinResume time.Duration
	// SysInterval is how often system information is sent to every
	// client; zero means 30 s.
	SysInterval time.Duration
	// Sys reads the machine; the zero value reads /proc and /sys.
	Sys sysinfo.Reader
	// Logger receives what the operator items do; nil discards it.
	Logger *slog.Logger
}

// Health is what the device is doing, as the operator items need it.
type Health struct {
	// App is the app running ("demo", "recovery").
	App string
	// Recovery is true while the device is in recovery, for Reason.
	Recovery bool
	Reason   string
	// Failures counts the failures that escaped an app since tether
	// started; Restarts those the supervisor restarted the app after.
	Failures, Restarts int
	// LastFailure is the last of them, with its time; "" after none.
	LastFailure   string
	LastFailureAt time.Time
	// Boots counts the device's boots (1 at start, +1 per restart), so a
	// watcher tells what happened since a restart it asked for.
	Boots int
	// ServedBoot is the boot (Boots) in which an app other than recovery
	// last came up serving (its apps.Env.Ready); 0 before any. A watcher
	// that asked for a restart at Boots n knows the app it started is up
	// once ServedBoot > n.
	ServedBoot int
}

// Service is the device-lifetime part of the operator items. Create it
// with New, run its confirm windows with Run, and hand each app run a
// Session.
type Service struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	wake    chan struct{} // 1-buffered: the pending change moved
	dropped atomic.Int64  // live log lines over a subscription's rate
	rev     atomic.Int64  // bumped each time the config files are written

	mu      sync.Mutex
	rec     record // the pending change and the last outcome
	base    int    // Health.Failures when the pending change was applied
	home    homeState
	restart func()                  // the current app run's, nil between runs
	apis    map[*cmdapi.Server]bool // the command APIs of live sessions
	exts    []Extension             // added to every session (Extend)
}

// homeState is how the call-home link fares.
type homeState struct {
	up    bool
	since time.Time // when up last changed
	err   string    // why it is down; "" when it never tried
}

// New returns a Service, reading a pending change left by an earlier run.
func New(opts Options) *Service {
	if opts.Log == nil {
		opts.Log = devlog.New(devlog.Options{})
	}
	if opts.Health == nil {
		opts.Health = func() Health { return Health{App: "demo"} }
	}
	if opts.Window <= 0 {
		opts.Window = 60 * time.Second
	}
	if opts.MinResume <= 0 {
		opts.MinResume = 20 * time.Second
	}
	if opts.SysInterval <= 0 {
		opts.SysInterval = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		opts: opts, log: log.With("component", "ops"), started: time.Now(),
		wake: make(chan struct{}, 1), apis: map[*cmdapi.Server]bool{},
	}
	s.resume()
	return s
}

// Run runs the confirm window of each change until ctx ends.
func (s *Service) Run(ctx context.Context) {
	for {
		due, pending := s.deadline()
		var timer *time.Timer
		var fire <-chan time.Time
		if pending {
			timer = time.NewTimer(max(time.Until(due), 0))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-fire:
			s.windowEnded()
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// reportHome records how the call-home link fares.
func (s *Service) reportHome(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up := err == nil; up != s.home.up || s.home.since.IsZero() {
		s.home.up, s.home.since = up, time.Now()
	}
	if err != nil {
		s.home.err = err.Error()
	}
}

// live returns the command APIs of the live sessions.
func (s *Service) live() []*cmdapi.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	apis := make([]*cmdapi.Server, 0, len(s.apis))
	for a := range s.apis {
		apis = append(apis, a)
	}
	return apis
}

// announce sends m, then the state object, to every live session's clients.
func (s *Service) announce(m wire.Message) {
	for _, a := range s.live() {
		a.Broadcast(m)
		a.BroadcastState()
	}
}
