package netif

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
)

// minPassword is WPA2's shortest passphrase.
const minPassword = 8

// APConfig returns the access point the Manager brings up: Options.AP,
// with the defaults filled in (a name after the device, a generated
// password). Show it to the person who has to join it.
func (m *Manager) APConfig() APConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apCfg.SSID == "" { // resolved on first use, so no password is made for nothing
		m.apCfg = m.resolveAP()
	}
	return m.apCfg
}

// resolveAP fills in the access point's name and password.
func (m *Manager) resolveAP() APConfig {
	cfg := m.opts.AP
	if !isSet(cfg.SSID) {
		cfg.SSID = "tether-" + m.deviceName()
	}
	if !isSet(cfg.Password) || len(cfg.Password) < minPassword {
		if isSet(cfg.Password) {
			m.log.Warn("access point password shorter than 8 characters, using a generated one",
				"ssid", cfg.SSID)
		}
		cfg.Password = m.generatedPassword(cfg.SSID)
	}
	return cfg
}

func (m *Manager) deviceName() string {
	if isSet(m.opts.Device) {
		return m.opts.Device
	}
	if m.creds != nil {
		if id := m.creds.Network().Device.IAm; isSet(id) {
			return id
		}
	}
	return "device"
}

// generatedPassword returns the CredStore's generated access point
// password, making and keeping one if there is none yet. A new one is
// written to the console, once; no log line ever holds it.
func (m *Manager) generatedPassword(ssid string) string {
	if m.creds != nil {
		if p := m.creds.APPassword(); p != "" {
			return p
		}
	}
	p := randomPassword()
	kept := "it is kept in the device root's " + StateFile + " and not shown again"
	if m.creds == nil {
		kept = "there is no device root to keep it in: a new one is made at every start"
	} else if err := m.creds.SetAPPassword(p); err != nil {
		m.log.Warn("keep generated access point password", "err", err)
		kept = "it could not be kept: a new one is made at the next start"
	}
	m.log.Info("made a password for the access point, shown once on the console", "ssid", ssid)
	if m.opts.Console != nil {
		fmt.Fprintf(m.opts.Console, "tether: the access point's password is %s (%s)\n", p, kept)
	}
	return p
}

// randomPassword returns 12 characters that are easy to read and type.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// apUpLocked brings the access point up, logging it at level; the caller
// holds m.radio.
func (m *Manager) apUpLocked(ctx context.Context, level slog.Level) error {
	cfg := m.APConfig()
	if err := m.b.APUp(ctx, cfg); err != nil {
		err = fmt.Errorf("bring up access point %q: %w", cfg.SSID, err)
		if ctx.Err() == nil && err.Error() != m.apErr { // once per distinct failure
			m.log.Warn("access point failed", "err", err)
		}
		m.apErr = err.Error()
		m.setError(err)
		return err
	}
	if prev := m.apErr; prev != "" { // repaired: the failure is history
		m.update(func(s *State) {
			if s.LastError == prev {
				s.LastError = ""
			}
		})
	}
	m.apErr = ""
	m.log.Log(ctx, level, "access point up", "ssid", cfg.SSID) // never its password: see generatedPassword
	m.update(func(s *State) { s.AP = true })
	return nil
}

// EnsureAP brings the access point up now and holds it up, whatever the
// station does, until ReleaseAP; recovery mode calls it so a person can
// reach the device. On a passive backend it returns an error wrapping
// ErrNotSupported and the device stays on its current network.
func (m *Manager) EnsureAP(ctx context.Context) error {
	if m.passive {
		return &NotSupportedError{Op: "access point up", Backend: m.b.Name()}
	}
	m.mu.Lock()
	m.held = true
	m.mu.Unlock()
	m.radio.Lock()
	defer m.radio.Unlock()
	if st, err := m.b.APStatus(ctx); err == nil && st.Active && st.SSID == m.APConfig().SSID {
		m.update(func(s *State) { s.AP = true })
		return nil
	}
	return m.apUpLocked(ctx, slog.LevelInfo)
}

// ReleaseAP ends EnsureAP's hold: the state machine takes the access point
// down again if the station is up.
func (m *Manager) ReleaseAP() {
	m.mu.Lock()
	m.held = false
	m.mu.Unlock()
	m.nudge()
}
