// Package update installs updates from the hub on a device: a process
// app's folder, or tether's own binary, packed and signed by package
// artifact. docs/UPDATES.md is the reference.
//
// The steps, each written to StateFile before it is taken, so a restart
// or a power cut at any instant resumes it (never leaving the device on
// nothing):
//
//  1. CMD update [sha256, size, rollout] (from the hub, or any admin
//     client): the artifact is downloaded from the device's hub, over the
//     origin and with the credentials it calls home with, resuming what an
//     earlier attempt got (HTTP Range).
//  2. It is verified whole (layout, signature by a key in the root's
//     keys/, size and SHA-256, what it is for) before anything is staged;
//     anything wrong ends it as refused.
//  3. It is staged beside the version running (under updates/), which is
//     kept.
//  4. The switch: the link apps/<name> is pointed at the new folder in one
//     rename, and the app restarted.
//  5. The trial: its window starts when the new version is up (its app
//     serves, so a slow start on a loaded board does not eat into it; at
//     the latest one window after the switch). The new version is
//     committed only when, for the whole window, the app does not fail,
//     it answers its health probe (a process app's GET health, when it
//     has one), and the device is back on its hub if it was on it before.
//     A failure of the app ends the trial at once, up or not. Otherwise
//     the previous version is linked back and started, and the reason is
//     kept.
//
// A binary's trial is run by the binary that staged it (package update's
// RunBinaryTrial, from the command line): see binary.go.
//
// The state goes into every app's state object as update/ keys (AddState),
// so the device's pages and the hub see it.
package update

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tether/internal/artifact"
	"tether/internal/backoff"
	"tether/internal/ops"
)

// Options configure a Service. Root and Ops are required.
type Options struct {
	// Root is the device root; "" means the device runs on embedded
	// defaults, and updates are refused.
	Root string
	// Ops is the device's operator service: it restarts the app, knows
	// its health and its call-home link, and carries the update items to
	// every app's command API.
	Ops *ops.Service
	// Version is tether's version, checked against an artifact's
	// min_tether.
	Version string
	// Window is a trial's length; zero means DefaultWindow.
	Window time.Duration
	// MinResume is the least trial left to an update found on trial at
	// start (its whole window when shorter); zero means 20 s.
	MinResume time.Duration
	// ProbeEvery is how often the app's health probe is asked during a
	// trial; zero means a tenth of the window, within 1-15 s.
	ProbeEvery time.Duration
	// ProbeTimeout bounds one probe; zero means 5 s.
	ProbeTimeout time.Duration
	// Binary, when set, runs a staged binary's trial: the device stops
	// and the command line runs it (BinaryHandover). Nil refuses binary
	// updates.
	Binary func(t BinaryTrial)
	// Logger receives what updates do; nil discards it.
	Logger *slog.Logger
	// TrialOf is the SHA-256 of the binary artifact this process is on
	// trial for (TrialEnv, set by RunBinaryTrial): it judges that trial.
	// "" for a process not on trial.
	TrialOf string
	// TrialOver, for a binary on trial, ends the process's device once
	// the verdict is recorded: the old binary takes over from there.
	TrialOver func()
	// Hold, for tests of power cuts, makes an update stop at one step and
	// wait there (for a SIGKILL): "download" (half the artifact written),
	// "staging" (unpacked under its temporary name), "staged", "switch"
	// (the trial recorded, the link not yet switched, or for a binary
	// the new one not yet started), "link" (a binary on trial committing:
	// bin/tether switched, the outcome not yet recorded), "rollback" (the
	// rollback recorded, the link not yet put back). "" never holds. Only
	// tests set it (tether device reads TETHER_TEST_UPDATE_HOLD).
	Hold string
}

// DefaultWindow is a trial's length when Options.Window is zero.
const DefaultWindow = 3 * time.Minute

// Service runs a device's updates. Create it with New, add it to the
// operator service (ops.Service.Extend, done by New) and run it with Run.
type Service struct {
	opts Options
	log  *slog.Logger
	wake chan struct{} // 1-buffered: the job moved
	// retry spaces failed downloads; only Run uses it.
	retry backoff.Backoff
	done  <-chan struct{} // Run's ctx.Done(), for hold
	// handedOver is set once a binary's trial is handed over: this
	// process's device is stopping, and does nothing more.
	handedOver bool

	mu    sync.Mutex
	rec   record
	base  int       // ops Health.Failures when the trial's app started
	boots int       // ops Health.Boots then: recovery counts after a boot since
	probe probeNote // the last probe of the trial
	// upBy is when the trial's window starts even if the new version has
	// not said it serves (an app that never calls Ready): a window after
	// the switch, or after a start that found the trial waiting for it.
	upBy time.Time
}

// probeNote is what the trial's probes found.
type probeNote struct {
	has    bool // the app answers a probe
	ok     bool // the last answer was healthy
	err    string
	at     time.Time
	asked  int
	passed int
}

// New returns a Service, reading the record an earlier run left and
// putting any link a power cut left half-switched right, and adds its
// items to every app's command API.
func New(opts Options) *Service {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MinResume <= 0 {
		opts.MinResume = 20 * time.Second
	}
	if opts.ProbeEvery <= 0 {
		opts.ProbeEvery = min(max(opts.Window/10, time.Second), 15*time.Second)
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, log: log.With("component", "update"), wake: make(chan struct{}, 1),
		retry: backoff.Backoff{Min: time.Second, Max: time.Minute}}
	if opts.Root != "" {
		s.resume()
	}
	if opts.Ops != nil {
		opts.Ops.Extend(s)
	}
	return s
}

// Run carries the update in progress forward until ctx ends: download,
// verify, stage, switch, trial, commit or roll back.
func (s *Service) Run(ctx context.Context) {
	if s.opts.Root == "" {
		return
	}
	s.sayKeys()
	s.done = ctx.Done()
	for {
		wait := s.step(ctx)
		if ctx.Err() != nil {
			return
		}
		var fire <-chan time.Time
		var t *time.Timer
		if wait > 0 {
			t = time.NewTimer(wait)
			fire = t.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// poke wakes Run.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// current returns a copy of the job in progress, nil when none.
func (s *Service) current() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.Job == nil {
		return nil
	}
	j := *s.rec.Job
	return &j
}

// step takes the job's next step and returns how long to wait before the
// next one (0: until poked).
func (s *Service) step(ctx context.Context) time.Duration {
	j := s.current()
	if j == nil {
		return 0
	}
	if s.handedOver {
		return 0
	}
	switch j.Phase {
	case Downloading:
		return s.fetch(ctx, j)
	case Staged:
		s.switchTo(j)
		return time.Millisecond
	case Trial:
		if j.Manifest.Kind == artifact.KindBinary && !s.judgingBinary(j) {
			s.rollback(j, "the binary's trial was cut short: this tether was started outside it")
			return time.Millisecond
		}
		return s.judge(ctx, j)
	case rollingBack:
		s.finishRollback(j)
	}
	return 0
}

// hold waits at step until Run ends, when Options.Hold names it.
func (s *Service) hold(step string) bool {
	if s.opts.Hold != step {
		return false
	}
	s.log.Warn("update: holding at "+step+" (TETHER_TEST_UPDATE_HOLD)", "step", step)
	<-s.done
	return true
}
