package hub

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// record is what the hub knows of one device it has held: whether it is
// online, since when, its message counts and its shadow (its latest state).
type record struct {
	mu      sync.Mutex
	online  bool
	since   time.Time
	reason  string // why it went offline
	remote  string
	tagged  bool   // its connection takes page identity (package pagetag)
	msgsIn  uint64 // from the device
	msgsOut uint64 // to the device
	sh      shadow

	offBytes int // under Hub.mu: the shadow's bytes counted in Hub.offlineBytes
}

// update takes a text message from the device into the shadow; it reports
// how many keys did not fit the limits, and whether the labels the device
// reports changed.
func (r *record) update(data []byte, lim shadowLimits) (dropped int, labels bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.sh.keys["labels"]
	dropped = r.sh.update(data, time.Now(), lim)
	return dropped, !bytes.Equal(old, r.sh.keys["labels"])
}

// shadowJSON returns the shadow as a JSON object, or nil when it is empty.
func (r *record) shadowJSON() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sh.json()
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
	// PageIdentity is true while the device's connection takes page
	// identity (package pagetag): its replies to one page reach only it.
	PageIdentity bool `json:"page_identity,omitempty"`
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
	// Labels are the device's labels: the auth file's and those it
	// reports in its state, for grants' label:NAME selectors.
	Labels []string `json:"labels,omitempty"`
	// Sys is the device's system information: its sys/... state keys
	// without the prefix (uptime, load, mem/total, ...).
	Sys map[string]json.RawMessage `json:"sys,omitempty"`
	// Update is the device's update in progress or its last one, from
	// its update/ state keys; absent before any.
	Update *UpdateInfo `json:"update,omitempty"`
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
		Remote: r.remote, MsgsIn: r.msgsIn, MsgsOut: r.msgsOut, PageIdentity: r.online && r.tagged}
	if !r.online {
		t := r.since
		di.LastSeen = &t
	}
	if len(r.sh.keys) > 0 {
		t := r.sh.updated
		di.ShadowUpdated = &t
	}
	return di
}

// recordFor returns id's record, making it; called with h.mu held.
func (h *Hub) recordFor(id string) *record {
	r := h.records[id]
	if r == nil {
		r = &record{since: time.Now()}
		h.records[id] = r
		h.trimOffline()
	}
	return r
}

// wentOffline counts the shadow of a record that went offline in the bound
// on offline records, and forgets the oldest offline records when they
// pass it; called with h.mu held.
func (h *Hub) wentOffline(r *record) {
	r.mu.Lock()
	n := r.sh.bytes
	r.mu.Unlock()
	h.offlineBytes += n - r.offBytes
	r.offBytes = n
	h.trimOffline()
}

// cameOnline takes a record back out of the offline bound; called with
// h.mu held.
func (h *Hub) cameOnline(r *record) {
	h.offlineBytes -= r.offBytes
	r.offBytes = 0
}

// dropRecord forgets id's record; called with h.mu held.
func (h *Hub) dropRecord(id string) {
	if r := h.records[id]; r != nil {
		h.offlineBytes -= r.offBytes
		delete(h.records, id)
	}
}

// trimOffline forgets the offline records gone the longest while they
// pass Options.OfflineDevices or Options.OfflineBytes, down to 90% of
// both, in one pass so that a hub at the bound does not sort for every
// device; called with h.mu held.
func (h *Hub) trimOffline() {
	maxN, maxBytes := h.opts.OfflineDevices, h.opts.OfflineBytes
	if len(h.records)-len(h.devices) <= maxN && h.offlineBytes <= maxBytes {
		return
	}
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
	n := len(off)
	for _, g := range off {
		if n <= maxN*9/10 && h.offlineBytes <= maxBytes*9/10 {
			break
		}
		h.dropRecord(g.id)
		n--
	}
}

func (h *Hub) record(id string) *record {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.records[id]
}

// countOut adds n to the messages sent to the device; r may be nil.
func (r *record) countOut(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.msgsOut += uint64(n)
	r.mu.Unlock()
}
