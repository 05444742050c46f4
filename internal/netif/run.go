package netif

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"tether/internal/backoff"
)

// Run runs the state machine until ctx ends, then returns nil (an error
// only if Run is already running). The machine:
//
//   - first tries any pending credentials a previous boot left (see
//     CredStore), for up to the grace period, and rolls them back if they
//     fail;
//   - "connecting": tries the station, retrying with backoff;
//   - after the grace period without the station, "ap+retry": brings the
//     access point up and keeps retrying the station (only when a scan shows
//     the network, so a single radio's access point is not disturbed for
//     nothing);
//   - once the station is back, takes the access point down by itself
//     ("station");
//   - in "station", checks the link every Monitor; a lost link logs
//     "station link lost" once, goes back to "connecting" with a fresh grace
//     period, and logs "station link back" once when it returns.
//
// With no station credentials the access point comes up at once ("ap"):
// there is no router to wait for. Every transition can repeat any number
// of times. On a passive backend (host) Run only reports "station".
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("run network manager: already running")
	}
	m.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		m.setMode(ModeStopped)
	}()

	if m.passive {
		if _, err := m.b.StationStatus(ctx); err != nil {
			m.setError(err) // e.g. no backend at all: say so
		}
		m.setMode(ModeStation)
		<-ctx.Done()
		return nil
	}
	start := time.Now()
	m.bootPending(ctx)
	l := &loop{m: m, bo: backoff.Backoff{Min: m.opts.Retry, Max: m.opts.RetryMax}}
	l.toConnecting()
	l.deadline = start.Add(m.opts.Grace) // the grace period counts from power-on
	for {
		var wait time.Duration
		switch m.State().Mode {
		case ModeConnecting:
			wait = l.connecting(ctx)
		case ModeStation:
			wait = l.stationStep(ctx)
		default:
			wait = l.apStep(ctx)
		}
		if !m.sleep(ctx, wait) {
			return nil
		}
	}
}

// sleep waits d or until nudged; false when ctx ended.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-m.wake:
	case <-t.C:
	}
	return ctx.Err() == nil
}

// loop is Run's memory between steps.
type loop struct {
	m         *Manager
	bo        backoff.Backoff
	deadline  time.Time // when the access point comes up if still no station
	lost      bool      // "station link lost" logged, "back" not yet
	joined    bool      // joined at least once this boot
	restoring bool      // bringing the access point back after a join took it down
}

func (l *loop) toConnecting() {
	l.deadline = time.Now().Add(l.m.opts.Grace)
	l.bo.Reset()
	l.m.setMode(ModeConnecting)
}

// connecting tries the station once and says how long to wait.
func (l *loop) connecting(ctx context.Context) time.Duration {
	m := l.m
	sta := m.station()
	if sta.SSID == "" {
		m.log.Info("no station configured, bringing up the access point")
		l.toAP(ctx, ModeAP)
		return 0
	}
	if l.linkUp(ctx) {
		l.toStation(ctx)
		return 0
	}
	if !m.mayJoin() {
		m.log.Info("access point held on a single radio: station retries wait for its release")
		l.toAP(ctx, ModeAPRetry)
		return 0
	}
	if err := m.join(ctx, sta.SSID, sta.Pass); err == nil {
		l.toStation(ctx)
		return 0
	} else if ctx.Err() == nil {
		l.failed(sta.SSID, err)
	}
	if !time.Now().Before(l.deadline) {
		m.log.Warn("station not reachable within the grace period, bringing up the access point",
			"ssid", sta.SSID, "grace", m.opts.Grace)
		l.toAP(ctx, ModeAPRetry)
		return l.bo.Next()
	}
	return min(l.bo.Next(), time.Until(l.deadline))
}

// stationStep checks the link and keeps the access point as wanted.
func (l *loop) stationStep(ctx context.Context) time.Duration {
	m := l.m
	st, err := m.b.StationStatus(ctx)
	if ctx.Err() != nil {
		return 0
	}
	if err == nil && st.Connected {
		l.reconcileAP(ctx, false)
		return m.opts.Monitor
	}
	attrs := []any{"ssid", m.station().SSID}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	m.log.Warn("station link lost", attrs...)
	l.lost = true
	l.toConnecting()
	return 0
}

// apStep keeps the access point up and retries the station.
func (l *loop) apStep(ctx context.Context) time.Duration {
	m := l.m
	l.reconcileAP(ctx, true)
	sta := m.station()
	if sta.SSID == "" {
		m.setMode(ModeAP)
		return m.opts.Monitor // to check the access point stays up
	}
	m.setMode(ModeAPRetry)
	if l.linkUp(ctx) {
		l.toStation(ctx)
		return 0
	}
	if !m.mayJoin() {
		return m.opts.Monitor // ReleaseAP nudges
	}
	if nets, err := m.Scan(ctx); err == nil && !slices.ContainsFunc(nets, func(n Network) bool { return n.SSID == sta.SSID }) {
		l.failed(sta.SSID, fmt.Errorf("join %q: network not in range", sta.SSID))
		return l.bo.Next()
	}
	if err := m.join(ctx, sta.SSID, sta.Pass); err == nil {
		l.toStation(ctx)
		return 0
	} else if ctx.Err() == nil {
		l.failed(sta.SSID, err)
		l.restoring = true // a single radio drops the access point to join
		l.reconcileAP(ctx, true)
		l.restoring = false
	}
	return l.bo.Next()
}

// mayJoin is false while EnsureAP holds the access point on a backend
// whose join would take it down.
func (m *Manager) mayJoin() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !(m.held && m.single)
}

// linkUp reports whether the station is connected (to any network: a
// network TestStation joined counts until the link drops).
func (l *loop) linkUp(ctx context.Context) bool {
	st, err := l.m.b.StationStatus(ctx)
	return err == nil && st.Connected
}

func (l *loop) failed(ssid string, err error) {
	l.m.log.Debug("station attempt failed", "ssid", ssid, "attempt", l.bo.Attempts()+1, "err", err)
	l.m.update(func(s *State) {
		s.Attempts++
		s.LastError = err.Error()
	})
}

func (l *loop) toStation(ctx context.Context) {
	m := l.m
	st, _ := m.b.StationStatus(ctx)
	switch {
	case l.lost:
		m.log.Info("station link back", "ssid", st.SSID, "ip", st.IP)
	case !l.joined:
		m.log.Info("station connected", "ssid", st.SSID, "ip", st.IP)
	default:
		m.log.Info("station back", "ssid", st.SSID, "ip", st.IP)
	}
	l.lost, l.joined = false, true
	l.bo.Reset()
	m.update(func(s *State) {
		s.Mode = ModeStation
		s.Attempts = 0
		s.LastError = ""
	})
	l.reconcileAP(ctx, false)
}

func (l *loop) toAP(ctx context.Context, mode string) {
	l.bo.Reset()
	l.m.setMode(mode)
	l.reconcileAP(ctx, true)
}

// reconcileAP brings the access point up or down to match want (or a
// hold by EnsureAP), checking the radio rather than trusting memory.
func (l *loop) reconcileAP(ctx context.Context, want bool) {
	m := l.m
	m.mu.Lock()
	want = want || m.held
	m.mu.Unlock()
	m.radio.Lock()
	defer m.radio.Unlock()
	st, err := m.b.APStatus(ctx)
	if err == nil && st.Active == want {
		m.update(func(s *State) { s.AP = want })
		return
	}
	if want {
		level := slog.LevelInfo
		if l.restoring {
			level = slog.LevelDebug // once per retry: not worth a line each
		}
		m.apUpLocked(ctx, level)
		return
	}
	if err := m.b.APDown(ctx); err != nil {
		if ctx.Err() == nil {
			m.log.Warn("access point down failed", "err", err)
		}
		return
	}
	m.log.Info("access point down")
	m.update(func(s *State) { s.AP = false })
}

// join joins ssid within JoinTimeout, holding the radio.
func (m *Manager) join(ctx context.Context, ssid, pass string) error {
	m.radio.Lock()
	defer m.radio.Unlock()
	return m.joinLocked(ctx, ssid, pass)
}

func (m *Manager) joinLocked(ctx context.Context, ssid, pass string) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.JoinTimeout)
	defer cancel()
	return m.b.Join(ctx, ssid, pass)
}
