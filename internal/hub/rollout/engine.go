package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// seen is what a device's state says of its update.
type seen struct {
	online  bool
	sha     string
	state   string
	reason  string
	rollout string
}

// observe reads the update/ keys of a device's shadow.
func observe(shadow []byte) seen {
	var m map[string]json.RawMessage
	if json.Unmarshal(shadow, &m) != nil {
		return seen{}
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(m[k], &v)
		return v
	}
	return seen{sha: str("update/sha256"), state: str("update/state"), reason: str("update/reason"), rollout: str("update/rollout")}
}

// about reports whether what the device says is about r's update: its
// artifact in r, or its artifact committed in any rollout (a device that
// had it already).
func (s seen) about(r *Rollout) bool {
	return s.sha == r.Artifact.SHA256 && s.state != "" && (s.rollout == r.ID || s.state == Committed)
}

// send is a message for a device.
type send struct{ id, msg string }

// tick looks at every running or paused rollout once: what its devices
// say, which to send the update now, whether it pauses or is done.
func (m *Manager) tick() {
	watch := m.watched()
	if len(watch) == 0 {
		return
	}
	seenBy := make(map[string]seen, len(watch))
	for _, id := range watch {
		s := observe(m.opts.Devices.Shadow(id))
		s.online = m.opts.Devices.Online(id)
		seenBy[id] = s
	}
	var sends []send
	changed := false
	m.mu.Lock()
	now := time.Now().UTC()
	for _, r := range m.rollouts {
		if r.State == Aborted {
			changed = m.observe(r, seenBy, now) || changed
			continue
		}
		if r.State != Running && r.State != Paused {
			continue
		}
		c, ss := m.advance(r, seenBy, now)
		changed = changed || c
		sends = append(sends, ss...)
	}
	if changed {
		m.saveLocked()
	}
	m.mu.Unlock()
	for _, s := range sends {
		if err := m.opts.Devices.Send(s.id, []byte(s.msg)); err != nil {
			m.log.Info("update not sent: it is sent again later", "device", s.id, "err", err)
		}
	}
}

// watched lists the devices of running and paused rollouts that have not
// ended, and those of aborted ones the update had reached (their end is
// still recorded).
func (m *Manager) watched() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, r := range m.rollouts {
		if r.State != Running && r.State != Paused && r.State != Aborted {
			continue
		}
		for _, id := range r.Devices {
			if st := r.Results[id].State; !Final(st) && (r.State != Aborted || st != Pending) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// advance moves r on with what its devices say; the caller holds m.mu.
// It returns whether r changed and what to send.
func (m *Manager) advance(r *Rollout, seenBy map[string]seen, now time.Time) (bool, []send) {
	changed := m.observe(r, seenBy, now)
	if r.State == Running {
		if why := r.pauseReason(); why != "" {
			r.State, r.Reason, changed = Paused, why, true
			m.log.Warn("rollout paused", "rollout", r.ID, "reason", why)
		}
	}
	if r.allEnded() {
		r.State, r.Reason, changed = Done, r.summary(), true
		m.log.Info("rollout done", "rollout", r.ID, "result", r.Reason)
	}
	var sends []send
	if r.State == Running {
		sends = m.toSend(r, seenBy, now)
		changed = changed || len(sends) > 0
	}
	if changed {
		r.Updated = now
	}
	return changed, sends
}

// observe records what r's devices say of its update; the caller holds
// m.mu. It reports whether anything changed.
func (m *Manager) observe(r *Rollout, seenBy map[string]seen, now time.Time) bool {
	changed := false
	for _, id := range r.Devices {
		res, s := r.Results[id], seenBy[id]
		if Final(res.State) || !s.about(r) || s.state == res.State && s.reason == res.Reason {
			continue
		}
		res.State, res.Reason, res.Updated, changed = s.state, s.reason, now, true
		m.log.Info("rollout: device "+s.state, "rollout", r.ID, "device", id, "reason", s.reason)
	}
	if changed {
		r.Updated = now
	}
	return changed
}

// pauseReason says why r must pause now, "" when it may go on.
func (r *Rollout) pauseReason() string {
	var canary, all []string
	for _, id := range r.Devices {
		res := r.Results[id]
		if !failed(res.State) {
			continue
		}
		line := fmt.Sprintf("%s %s: %s", id, res.State, res.Reason)
		all = append(all, line)
		if res.Wave == 0 {
			canary = append(canary, line)
		}
	}
	switch {
	case len(canary) > 0 && !r.CanaryForgiven:
		return "the canary failed: " + strings.Join(canary, "; ")
	case len(all)-r.Forgiven >= r.MaxFailures:
		return fmt.Sprintf("%d devices failed (the threshold is %d): %s", len(all)-r.Forgiven, r.MaxFailures, strings.Join(all, "; "))
	}
	return ""
}

func (r *Rollout) allEnded() bool {
	for _, res := range r.Results {
		if !Final(res.State) {
			return false
		}
	}
	return true
}

// summary says how a rollout ended: "20 committed, 1 rolled_back".
func (r *Rollout) summary() string {
	c := r.counts()
	var parts []string
	for _, st := range []string{Committed, RolledBack, Refused} {
		if c[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

// toSend picks the devices of r's open waves to send the update to now:
// online, not ended, and either never sent it or silent about it for
// Resend.
func (m *Manager) toSend(r *Rollout, seenBy map[string]seen, now time.Time) []send {
	online := func(id string) bool { return seenBy[id].online }
	open := r.open(online)
	msg, _ := json.Marshal([]any{"CMD", "update", []any{r.Artifact.SHA256, r.Artifact.Size, r.ID}})
	var out []send
	for _, id := range r.Devices {
		res, s := r.Results[id], seenBy[id]
		if res.Wave > open || Final(res.State) || !s.online {
			continue
		}
		if res.State != Pending && (s.about(r) || now.Sub(res.Sent) < m.opts.Resend) {
			continue
		}
		if res.State == Pending {
			res.State = Sent
		}
		res.Sent, res.Updated = now, now
		out = append(out, send{id: id, msg: string(msg)})
	}
	return out
}
