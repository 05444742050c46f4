package netif

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"tether/internal/backoff"
	"tether/internal/config"
)

// TestStation tries the network ssid without storing it (the seed's
// test_new_sta): it scans, joins ssid and returns nil if that works,
// leaving the station on it until the link next drops or the device
// reboots. If the join fails it rejoins the stored network and returns why.
func (m *Manager) TestStation(ctx context.Context, ssid, pass string) error {
	if err := m.checkChange("test station", ssid); err != nil {
		return err
	}
	defer m.nudge()
	m.radio.Lock()
	defer m.radio.Unlock()
	if err := m.tryLocked(ctx, ssid, pass); err != nil {
		err = fmt.Errorf("test station %q: %w", ssid, err)
		m.setError(err)
		m.rejoinLocked(ctx)
		return err
	}
	m.log.Info("station test succeeded", "ssid", ssid)
	return nil
}

// StoreStation changes the station credentials safely: it saves them as
// pending, tries them, and on success makes them the stored, last-good
// credentials (network.json's sta). If they fail within JoinTimeout it rolls
// back to the last credentials that worked, records the failure (State's
// LastError and the CredStore's LastFailure) and returns it.
func (m *Manager) StoreStation(ctx context.Context, ssid, pass string) error {
	if err := m.checkChange("store station", ssid); err != nil {
		return err
	}
	defer m.nudge()
	sta := config.STA{SSID: ssid, Pass: pass}
	if m.creds != nil {
		if err := m.creds.SetPending(sta); err != nil {
			return fmt.Errorf("store station %q: %w", ssid, err)
		}
	}
	m.radio.Lock()
	defer m.radio.Unlock()
	if err := m.tryLocked(ctx, ssid, pass); err != nil {
		err = fmt.Errorf("store station %q: %w", ssid, err)
		m.rollback(sta, err)
		m.rejoinLocked(ctx)
		return err
	}
	return m.commit(sta)
}

// checkChange refuses credential changes a backend cannot make.
func (m *Manager) checkChange(op, ssid string) error {
	if m.passive {
		return &NotSupportedError{Op: op, Backend: m.b.Name()}
	}
	if !isSet(ssid) {
		return fmt.Errorf("%s: want an ssid, got %q", op, ssid)
	}
	return nil
}

// tryLocked scans for ssid and joins it; the caller holds m.radio.
func (m *Manager) tryLocked(ctx context.Context, ssid, pass string) error {
	nets, err := m.b.Scan(ctx)
	if err == nil && !slices.ContainsFunc(nets, func(n Network) bool { return n.SSID == ssid }) {
		return errors.New("network not in range")
	}
	return m.joinLocked(ctx, ssid, pass)
}

// rejoinLocked goes back to the stored network after a failed try; if that
// fails too, Run's monitor takes over.
func (m *Manager) rejoinLocked(ctx context.Context) {
	sta := m.station()
	if sta.SSID == "" || ctx.Err() != nil {
		return
	}
	if err := m.joinLocked(ctx, sta.SSID, sta.Pass); err != nil {
		m.log.Warn("rejoin stored network failed", "ssid", sta.SSID, "err", err)
	}
}

// commit makes sta the stored credentials.
func (m *Manager) commit(sta config.STA) error {
	m.mu.Lock()
	m.sta = sta
	m.mu.Unlock()
	m.log.Info("station credentials stored", "ssid", sta.SSID)
	m.update(func(s *State) { s.LastError = "" })
	if m.creds == nil {
		return nil
	}
	if err := m.creds.Commit(sta); err != nil {
		// Joined but not saved: the credentials stay pending and the next
		// boot tries (and commits) them again.
		err = fmt.Errorf("store station %q: %w", sta.SSID, err)
		m.setError(err)
		return err
	}
	return nil
}

// rollback records that sta failed and goes back to the last good
// credentials.
func (m *Manager) rollback(sta config.STA, cause error) {
	m.setError(cause)
	if m.creds != nil {
		if err := m.creds.Rollback(sta, cause); err != nil {
			m.log.Error("record credential rollback", "err", err)
		}
		m.mu.Lock()
		m.sta = m.creds.LastGood()
		m.mu.Unlock()
	}
	m.log.Warn("station credentials rolled back", "failed", sta.SSID, "back_to", m.station().SSID, "err", cause)
}

// bootPending tries credentials a previous boot left pending, retrying for
// up to the grace period (the router may still be booting), and rolls
// them back if they never work.
func (m *Manager) bootPending(ctx context.Context) {
	if m.creds == nil {
		return
	}
	sta, ok := m.creds.Pending()
	if !ok {
		return
	}
	m.log.Info("trying pending station credentials", "ssid", sta.SSID)
	m.setMode(ModeConnecting)
	deadline := time.Now().Add(m.opts.Grace)
	bo := backoff.Backoff{Min: m.opts.Retry, Max: m.opts.RetryMax}
	var err error
	for {
		if err = m.join(ctx, sta.SSID, sta.Pass); err == nil {
			if cerr := m.commit(sta); cerr != nil {
				m.log.Warn("pending credentials work but were not saved", "err", cerr)
			}
			return
		}
		m.update(func(s *State) { s.Attempts++; s.LastError = err.Error() })
		left := time.Until(deadline)
		if left <= 0 || !m.sleep(ctx, min(bo.Next(), left)) {
			break
		}
	}
	if ctx.Err() != nil {
		return // not tried to the end: leave them pending
	}
	m.rollback(sta, fmt.Errorf("pending credentials for %q failed for %s: %w", sta.SSID, m.opts.Grace, err))
	m.update(func(s *State) { s.Attempts = 0 })
}
