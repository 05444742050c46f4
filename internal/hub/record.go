package hub

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// maxShadowKeys bounds a device's shadow; keys past it are not added.
const maxShadowKeys = 1024

// maxRecords bounds how many offline devices the hub remembers.
const maxRecords = 10000

// record is what the hub knows of one device it has held: whether it is
// online, since when, its message counts and its shadow (the latest value of
// every key of the JSON objects it sent).
type record struct {
	mu       sync.Mutex
	online   bool
	since    time.Time
	reason   string // why it went offline
	remote   string
	msgsIn   uint64 // from the device
	msgsOut  uint64 // to the device
	shadow   map[string]json.RawMessage
	shadowJS []byte    // shadow encoded, nil when stale
	shadowAt time.Time // when the shadow last changed
}

// update merges a text message that is a JSON object into the shadow.
func (r *record) update(data []byte) {
	if len(data) < 2 || data[0] != '{' {
		data = bytes.TrimSpace(data)
		if len(data) < 2 || data[0] != '{' {
			return
		}
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shadow == nil {
		r.shadow = make(map[string]json.RawMessage, len(obj))
	}
	for k, v := range obj {
		if _, ok := r.shadow[k]; ok || len(r.shadow) < maxShadowKeys {
			r.shadow[k] = v
		}
	}
	r.shadowJS = nil
	r.shadowAt = time.Now()
}

// shadowJSON returns the shadow as a JSON object, or nil when it is empty.
func (r *record) shadowJSON() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.shadow) == 0 {
		return nil
	}
	if r.shadowJS == nil {
		r.shadowJS, _ = json.Marshal(r.shadow)
	}
	return r.shadowJS
}

// DeviceInfo is one device as /api/devices shows it.
type DeviceInfo struct {
	ID     string    `json:"id"`
	Online bool      `json:"online"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
	Hub    string    `json:"hub"`
	Remote string    `json:"remote,omitempty"`
	// MsgsIn counts messages from the device, MsgsOut messages to it.
	MsgsIn  uint64 `json:"messages_in"`
	MsgsOut uint64 `json:"messages_out"`
	Pages   int    `json:"pages"`
	// LastSeen is when the hub last heard from the device (any frame,
	// pongs included) while it is online here, when it went offline
	// after; absent for a device online on another hub.
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// App and Version are the app the device runs and its tether
	// version, from its state; absent when it has not said.
	App     string `json:"app,omitempty"`
	Version string `json:"version,omitempty"`
	// Recovery is true while the device runs recovery, with
	// RecoveryReason saying why; both absent otherwise.
	Recovery       bool   `json:"recovery,omitempty"`
	RecoveryReason string `json:"recovery_reason,omitempty"`
	// Sys is the device's system information: its sys/... state keys
	// without the prefix (uptime, load, mem/total, ...).
	Sys map[string]json.RawMessage `json:"sys,omitempty"`
	// ShadowUpdated is when the shadow last changed and ShadowAge how
	// many seconds ago that was; absent without a shadow.
	ShadowUpdated *time.Time `json:"shadow_updated,omitempty"`
	ShadowAge     *float64   `json:"shadow_age_s,omitempty"`
	// Shadow is the device's latest state (only for one device).
	Shadow json.RawMessage `json:"shadow,omitempty"`
}

func (r *record) info(id, hub string) DeviceInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	di := DeviceInfo{ID: id, Online: r.online, Since: r.since, Reason: r.reason, Hub: hub,
		Remote: r.remote, MsgsIn: r.msgsIn, MsgsOut: r.msgsOut}
	if !r.online {
		t := r.since
		di.LastSeen = &t
	}
	if !r.shadowAt.IsZero() {
		t := r.shadowAt
		di.ShadowUpdated = &t
	}
	return di
}

// recordFor returns id's record, making it; called with h.mu held.
func (h *Hub) recordFor(id string) *record {
	r := h.records[id]
	if r == nil {
		if len(h.records)-len(h.devices) >= maxRecords {
			h.forgetOldest(maxRecords / 10)
		}
		r = &record{since: time.Now()}
		h.records[id] = r
	}
	return r
}

// forgetOldest drops the n offline records gone the longest, in one pass
// so that a hub at the bound does not scan for every new device; called
// with h.mu held.
func (h *Hub) forgetOldest(n int) {
	type gone struct {
		id    string
		since time.Time
	}
	var off []gone
	for id, r := range h.records {
		r.mu.Lock()
		if !r.online {
			off = append(off, gone{id, r.since})
		}
		r.mu.Unlock()
	}
	slices.SortFunc(off, func(a, b gone) int { return a.since.Compare(b.since) })
	for _, g := range off[:min(n, len(off))] {
		delete(h.records, g.id)
	}
}

func (h *Hub) record(id string) *record {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.records[id]
}
