package rollout

import (
	"fmt"
	"path/filepath"
	"time"

	"tether/internal/atomicfile"
)

// File is where a hub keeps its rollouts, in Options.Dir.
const File = "rollouts.json"

// saved is File's content.
type saved struct {
	Rollouts []*Rollout `json:"rollouts"`
}

func (m *Manager) path() string { return filepath.Join(m.opts.Dir, File) }

// load reads File; a missing one is no rollouts.
func (m *Manager) load() error {
	var s saved
	if _, err := atomicfile.ReadJSON(m.path(), &s); err != nil {
		return fmt.Errorf("read rollouts: %w", err)
	}
	for _, r := range s.Rollouts {
		if r == nil || r.ID == "" || r.Results == nil {
			continue
		}
		for _, id := range r.Devices {
			if r.Results[id] == nil {
				r.Results[id] = &Result{State: Pending}
			}
		}
		m.rollouts = append(m.rollouts, r)
	}
	return nil
}

// saveLocked writes File, forgetting the oldest ended rollouts past Keep;
// the caller holds m.mu.
func (m *Manager) saveLocked() {
	ended := 0
	for _, r := range m.rollouts {
		if r.State == Done || r.State == Aborted {
			ended++
		}
	}
	kept := m.rollouts[:0]
	for _, r := range m.rollouts {
		if ended > m.opts.Keep && (r.State == Done || r.State == Aborted) {
			ended--
			continue
		}
		kept = append(kept, r)
	}
	m.rollouts = kept
	if err := atomicfile.WriteJSON(m.path(), saved{Rollouts: m.rollouts}, 0o644); err != nil {
		m.log.Error("rollouts not written: a hub restart would lose what changed", "err", err)
	}
}

// Start plans and starts a rollout of spec; it is written before it is
// returned.
func (m *Manager) Start(spec Spec) (*Rollout, error) {
	a, ok := m.store.Get(spec.Artifact)
	if !ok {
		return nil, fmt.Errorf("%w: artifact %q: the hub does not have it (upload it first: POST /api/artifacts)", ErrNotFound, spec.Artifact)
	}
	r, err := m.plan(spec, a)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.rollouts = append(m.rollouts, r)
	m.saveLocked()
	cp := r.copy()
	m.mu.Unlock()
	m.log.Info("rollout started", "rollout", r.ID, "artifact", a.Manifest.String(), "devices", len(r.Devices),
		"canary", r.Canary, "wave", r.Wave, "max_failures", r.MaxFailures, "by", r.By)
	m.Poke()
	return cp, nil
}

// List returns copies of every rollout, newest first.
func (m *Manager) List() []*Rollout {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Rollout, 0, len(m.rollouts))
	for i := len(m.rollouts) - 1; i >= 0; i-- {
		out = append(out, m.rollouts[i].copy())
	}
	return out
}

// Get returns a copy of the rollout id.
func (m *Manager) Get(id string) (*Rollout, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(id)
	if r == nil {
		return nil, fmt.Errorf("%w: rollout %q", ErrNotFound, id)
	}
	return r.copy(), nil
}

func (m *Manager) find(id string) *Rollout {
	for _, r := range m.rollouts {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Act pauses, resumes or aborts the rollout id (action "pause", "resume",
// "abort"), as who.
func (m *Manager) Act(id, action, who string) (*Rollout, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(id)
	if r == nil {
		return nil, fmt.Errorf("%w: rollout %q", ErrNotFound, id)
	}
	switch {
	case r.State == Done || r.State == Aborted:
		return nil, fmt.Errorf("%w: rollout %s has %s", ErrConflict, id, endedWord(r.State))
	case action == "pause" && r.State == Running:
		r.State, r.Reason = Paused, "paused by "+who
	case action == "resume" && r.State == Paused:
		r.State, r.Reason = Running, "resumed by "+who
		r.Forgiven, r.CanaryForgiven = r.failures(), true
	case action == "abort":
		r.State, r.Reason = Aborted, "aborted by "+who
	case action == "pause" || action == "resume":
		return nil, fmt.Errorf("%w: rollout %s is %s", ErrConflict, id, r.State)
	default:
		return nil, fmt.Errorf("%w: action %q: want pause, resume or abort", ErrBad, action)
	}
	r.Updated = time.Now().UTC()
	m.saveLocked()
	m.log.Warn("rollout "+action, "rollout", id, "by", who)
	m.Poke()
	return r.copy(), nil
}

func endedWord(state string) string {
	if state == Done {
		return "ended"
	}
	return "been aborted"
}

// copy is a deep copy of r, safe to hand out.
func (r *Rollout) copy() *Rollout {
	cp := *r
	cp.Devices = append([]string(nil), r.Devices...)
	cp.Results = make(map[string]*Result, len(r.Results))
	for id, res := range r.Results {
		rc := *res
		cp.Results[id] = &rc
	}
	return &cp
}
