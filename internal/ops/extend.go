package ops

import (
	"time"

	"tether/internal/cmdapi"
	"tether/internal/wire"
)

// Extension adds items and state keys to every app's command API beside
// the operator items, and lives as long as the device: package update is
// one. Its methods are called as the operator items' are: Register before
// a command API serves, AddState each time its state object is made.
type Extension interface {
	Register(api *cmdapi.Server)
	AddState(m wire.Message)
}

// Extend adds e to the sessions started from now on. Call it before the
// device's first app runs.
func (s *Service) Extend(e Extension) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exts = append(s.exts, e)
}

func (s *Service) extensions() []Extension {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exts
}

// Restart has the current app run boot again (the config read afresh);
// it reports false between runs, when there is nothing to restart.
func (s *Service) Restart() bool {
	s.mu.Lock()
	restart := s.restart
	s.mu.Unlock()
	if restart == nil {
		return false
	}
	restart()
	return true
}

// Health is what the device is doing now (Options.Health).
func (s *Service) Health() Health { return s.opts.Health() }

// HomeStatus is how the call-home link fares.
type HomeStatus struct {
	Up    bool
	Since time.Time // when it last came up or went down; zero before any report
	Err   string    // why it is down; "" when it never tried
}

// Home reports how the call-home link fares.
func (s *Service) Home() HomeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return HomeStatus{Up: s.home.up, Since: s.home.since, Err: s.home.err}
}

// APIs returns the command APIs of the live sessions.
func (s *Service) APIs() []*cmdapi.Server { return s.live() }

// Announce sends m, then the state object, to every live session's
// clients.
func (s *Service) Announce(m wire.Message) { s.announce(m) }

// Trouble says what is wrong with the device since a change made when it
// was on its hub (homeBefore) and its app had failed base times
// (Health.Failures): off its hub now, in recovery, or its app failed
// since. "" means nothing: the rule of a config change's window, which an
// update's trial shares.
func (s *Service) Trouble(homeBefore bool, base int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.troubleLocked(homeBefore, base)
}

// ResumeLeft is how much of a window that should end at deadline a
// change found pending at start gets: what is left of it, at least
// minResume (or the whole window when that is shorter) and at most the
// whole window, since the clock of a board without a battery can jump
// either way across a reboot.
func ResumeLeft(deadline time.Time, window, minResume time.Duration) time.Duration {
	return min(max(time.Until(deadline), min(minResume, window)), window)
}
