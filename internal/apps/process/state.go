package process

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"tether/internal/wire"
)

// reservedKeys and reservedPrefixes are state keys tether sets itself,
// which a program cannot set.
var (
	reservedKeys     = []string{"iam", "dev", "app", "version", "recovery", "info", "error", "help"}
	reservedPrefixes = []string{"net/", "tls/", "sys/", "wifi/", "hal/", "config/", "update/", "hub/", "app/", "log/", "recovery/"}
)

func reserved(key string) bool {
	if contains(reservedKeys, key) {
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// setState merges keys into the app's state (null removes a key) and has
// the state object sent to every client soon. Keys tether sets, and keys
// beyond the bounds (maxStateKey keys, half the command API's message
// limit in all), are refused.
func (r *run) setState(keys map[string]json.RawMessage) {
	limit := int(r.maxMessage() / 2)
	r.mu.Lock()
	refused := 0
	for k, v := range keys {
		old, had := r.state[k]
		if had {
			r.stateBytes -= len(k) + len(old)
		}
		if string(v) == "null" {
			delete(r.state, k)
			continue
		}
		if reserved(k) || !had && len(r.state) >= maxStateKey || r.stateBytes+len(k)+len(v) > limit {
			if had {
				r.stateBytes += len(k) + len(old)
			}
			refused++
			continue
		}
		r.state[k] = v
		r.stateBytes += len(k) + len(v)
	}
	r.mu.Unlock()
	r.markDirty()
	if refused > 0 {
		r.refused(&r.drops.StateRefused, "state keys refused: tether's own, or over the bounds", "refused", refused, "max_keys", maxStateKey, "max_bytes", limit)
	}
}

// addState adds the app's keys to the state object: app/pid,
// app/dropped and what the program set (never over a key tether's own
// parts, such as a driver, set already).
func (r *run) addState(m wire.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m["app/pid"] = r.pid
	m["app/dropped"] = r.drops
	if r.p.Page != "" {
		m["app/page"] = r.p.Page // served on the device's port only: the hub's page says so
	}
	for k, v := range r.state {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
}

func (r *run) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// publishState sends the state object to every client when the app's
// state changed, at most once every stateEvery: a program updating its
// state in a flood costs a few messages a second.
func (r *run) publishState(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.dirty:
		}
		r.api.BroadcastState()
		t.Reset(stateEvery)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
