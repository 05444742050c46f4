package natsbroker

import (
	"sort"
	"time"

	"tether/internal/hub/broker"
)

// table is the cluster's presence as one hub sees it: the devices held
// here, the devices each other hub instance says it holds, and for every
// device the connection that wins (the newest). It is not safe for
// concurrent use; the Broker guards it with its mutex.
type table struct {
	local map[string]broker.Presence // held by this hub
	hubs  map[string]*remote         // other hub instances, by instance id
	win   map[string]entry           // the winning connection of each device
	// interest counts, by device, the other hubs with pages of it: only
	// those devices' messages are published.
	interest map[string]int
}

// remote is what one other hub instance told us.
type remote struct {
	name  string
	seq   uint64    // the last presence sequence number applied in order
	dirty bool      // an event was missed: a snapshot is needed
	seen  time.Time // the last message heard from it
	asked time.Time // when a snapshot was last asked for
	// warned is set once a clash of hub names with it was logged.
	warned bool
	held   map[string]broker.Presence
	// watching is the devices it has pages of.
	watching map[string]bool
	// parts gathers a snapshot sent in several messages, of sequence partSeq.
	parts     []broker.Presence
	partWatch []string
	partSeq   uint64
	partN     int
}

// entry is a device's winning connection; inst is "" when it is held here.
type entry struct {
	p    broker.Presence
	inst string
}

func newTable() *table {
	return &table{local: map[string]broker.Presence{}, hubs: map[string]*remote{}, win: map[string]entry{}, interest: map[string]int{}}
}

// newer reports whether a is a newer connection than b: later Since, ties
// broken by hub name and connection number, so every hub picks the same one.
func newer(a, b broker.Presence) bool {
	if !a.Since.Equal(b.Since) {
		return a.Since.After(b.Since)
	}
	if a.Hub != b.Hub {
		return a.Hub > b.Hub
	}
	return a.Conn > b.Conn
}

// hub returns the record of instance inst, making it.
func (t *table) hub(inst, name string, now time.Time) *remote {
	r := t.hubs[inst]
	if r == nil {
		r = &remote{name: name, held: map[string]broker.Presence{}, watching: map[string]bool{}}
		t.hubs[inst] = r
	}
	if name != "" {
		r.name = name
	}
	r.seen = now
	return r
}

// settle recomputes device's winner and returns what the Handler must
// hear: the new winner when it changed, or the device going (with reason)
// when nothing holds it any more.
func (t *table) settle(device, reason string, out []broker.Presence) []broker.Presence {
	old, had := t.win[device]
	best, inst, ok := broker.Presence{}, "", false
	if p, held := t.local[device]; held {
		best, ok = p, true
	}
	for id, r := range t.hubs {
		if p, held := r.held[device]; held && (!ok || newer(p, best)) {
			best, inst, ok = p, id, true
		}
	}
	switch {
	case !ok && had:
		delete(t.win, device)
		gone := old.p
		gone.Online, gone.Reason, gone.Since = false, reason, time.Now()
		return append(out, gone)
	case !ok:
		return out
	case had && old.inst == inst && old.p.Hub == best.Hub && old.p.Conn == best.Conn:
		t.win[device] = entry{best, inst}
		return out
	}
	t.win[device] = entry{best, inst}
	return append(out, best)
}

// replace sets everything instance inst holds, as a snapshot says.
func (t *table) replace(r *remote, held []broker.Presence, reason string, out []broker.Presence) []broker.Presence {
	old := r.held
	r.held = make(map[string]broker.Presence, len(held))
	for _, p := range held {
		r.held[p.Device] = p
	}
	for d := range old {
		if _, still := r.held[d]; !still {
			out = t.settle(d, reason, out)
		}
	}
	for d := range r.held {
		out = t.settle(d, reason, out)
	}
	return out
}

// drop forgets instance inst and everything it held.
func (t *table) drop(inst, reason string, out []broker.Presence) []broker.Presence {
	r := t.hubs[inst]
	if r == nil {
		return out
	}
	delete(t.hubs, inst)
	for d := range r.watching {
		t.watch(r, d, false)
	}
	for d := range r.held {
		out = t.settle(d, reason, out)
	}
	return out
}

// devices lists the winners, sorted by device id.
func (t *table) devices() []broker.Presence {
	out := make([]broker.Presence, 0, len(t.win))
	for _, e := range t.win {
		out = append(out, e.p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}

// snapshot lists the devices held here.
func (t *table) snapshot() []broker.Presence {
	out := make([]broker.Presence, 0, len(t.local))
	for _, p := range t.local {
		out = append(out, p)
	}
	return out
}

// collect adds one part of a snapshot and returns the whole snapshot once
// every part has come (at once for a snapshot in one part).
func (r *remote) collect(m hubMsg) (held []broker.Presence, watching []string, whole bool) {
	if m.Part <= 1 || m.Seq != r.partSeq {
		r.parts, r.partWatch, r.partSeq, r.partN = r.parts[:0], r.partWatch[:0], m.Seq, 0
	}
	for _, pm := range m.Held {
		r.parts = append(r.parts, toPresence(pm))
	}
	r.partWatch = append(r.partWatch, m.Watching...)
	r.partN++
	if r.partN < max(m.Parts, 1) {
		return nil, nil, false
	}
	held, watching = r.parts, r.partWatch
	r.parts, r.partWatch, r.partN = nil, nil, 0
	return held, watching, true
}

// watch records whether r has pages of device.
func (t *table) watch(r *remote, device string, on bool) {
	switch {
	case on && !r.watching[device]:
		r.watching[device] = true
		t.interest[device]++
	case !on && r.watching[device]:
		delete(r.watching, device)
		if t.interest[device]--; t.interest[device] <= 0 {
			delete(t.interest, device)
		}
	}
}

// replaceWatching sets every device r has pages of, as a snapshot says.
func (t *table) replaceWatching(r *remote, devices []string) {
	now := make(map[string]bool, len(devices))
	for _, d := range devices {
		now[d] = true
	}
	for d := range r.watching {
		if !now[d] {
			t.watch(r, d, false)
		}
	}
	for d := range now {
		t.watch(r, d, true)
	}
}

// newest returns p with Since moved just past every other hub's connection
// of the same device that would otherwise count as newer.
func (t *table) newest(p broker.Presence) broker.Presence {
	for _, r := range t.hubs {
		if q, ok := r.held[p.Device]; ok && !newer(p, q) {
			p.Since = q.Since.Add(time.Microsecond)
		}
	}
	return p
}
