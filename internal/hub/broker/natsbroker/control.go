package natsbroker

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"tether/internal/hub/broker"
)

// presenceMsg is a device connection coming or going, on P.presence and
// in snapshots.
type presenceMsg struct {
	// Kind is "" for a connection, "watch" or "unwatch" when a hub starts
	// or stops having pages of Device.
	Kind   string    `json:"kind,omitempty"`
	Device string    `json:"device"`
	Hub    string    `json:"hub"`
	Inst   string    `json:"inst"`
	Conn   uint64    `json:"conn"`
	Online bool      `json:"online"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	Seq    uint64    `json:"seq,omitempty"`
	Pages  bool      `json:"pages,omitempty"`
}

// hubMsg is a hub instance's heartbeat ("beat"), hello ("hello", with its
// snapshot; every hub answers with a "snap" to the reply subject),
// snapshot ("snap") or goodbye ("bye"), on P.hubs or P.hub.<inst>.snap.
type hubMsg struct {
	Kind string        `json:"kind"`
	Hub  string        `json:"hub"`
	Inst string        `json:"inst"`
	Seq  uint64        `json:"seq"`
	Held []presenceMsg `json:"held,omitempty"`
	// Watching is the devices the hub has pages of.
	Watching []string `json:"watching,omitempty"`
	// Part and Parts number the messages of one snapshot, from 1.
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`
}

func toPresence(m presenceMsg) broker.Presence {
	return broker.Presence{Device: m.Device, Hub: m.Hub, Conn: m.Conn, Online: m.Online, Reason: m.Reason, Since: m.Since, Pages: m.Pages}
}

func (b *Broker) fromPresence(p broker.Presence, seq uint64) presenceMsg {
	return presenceMsg{Device: p.Device, Hub: p.Hub, Inst: b.inst, Conn: p.Conn, Online: p.Online, Reason: p.Reason, Since: p.Since, Seq: seq, Pages: p.Pages}
}

// publishPresence announces a change of this hub's holdings; called with
// b.mu held, so that events and snapshots leave in sequence order.
func (b *Broker) publishPresence(p broker.Presence) {
	b.publishEvent(b.fromPresence(p, 0))
}

// publishEvent numbers and sends an event on P.presence; called with b.mu held.
func (b *Broker) publishEvent(pm presenceMsg) {
	b.seq++
	pm.Seq, pm.Inst = b.seq, b.inst
	data, _ := json.Marshal(pm)
	if b.connected() {
		b.nc.Publish(b.subj.presence(), data)
	}
}

// publishHub sends m on P.hubs, or to subject when it is set.
func (b *Broker) publishHub(m hubMsg, subject string) {
	m.Hub, m.Inst = b.opts.Hub, b.inst
	if subject == "" {
		subject = b.subj.hubs()
	}
	data, _ := json.Marshal(m)
	if err := b.nc.Publish(subject, data); err != nil {
		b.log.Debug("publish to NATS failed", "subject", subject, "err", err)
	}
}

// snapChunk is how many devices one snapshot message carries at most, so
// that a hub holding many stays well under NATS's 1 MB payload limit.
const snapChunk = 2000

// publishSnapshot sends this hub's holdings to subject (P.hubs when ""),
// in parts of at most snapChunk devices.
func (b *Broker) publishSnapshot(kind, subject, reply string) {
	if subject == "" {
		subject = b.subj.hubs()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	held := b.tab.snapshot()
	watching := make([]string, 0, len(b.watch))
	for d := range b.watch {
		watching = append(watching, d)
	}
	parts := max(1, (len(held)+snapChunk-1)/snapChunk, (len(watching)+snapChunk-1)/snapChunk)
	for part := 1; part <= parts; part++ {
		chunk := held[min((part-1)*snapChunk, len(held)):min(part*snapChunk, len(held))]
		m := hubMsg{Kind: kind, Hub: b.opts.Hub, Inst: b.inst, Seq: b.seq, Part: part, Parts: parts, Held: make([]presenceMsg, len(chunk)),
			Watching: watching[min((part-1)*snapChunk, len(watching)):min(part*snapChunk, len(watching))]}
		for i, p := range chunk {
			m.Held[i] = b.fromPresence(p, 0)
		}
		data, _ := json.Marshal(m)
		if !b.connected() {
			return
		}
		if err := b.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: data}); err != nil {
			b.log.Debug("publish snapshot failed", "subject", subject, "err", err)
			return
		}
	}
}

// controlLoop applies heartbeats and snapshots from other hubs, beats,
// expires silent hubs, and follows the NATS connection going and coming back.
func (b *Broker) controlLoop() {
	t := time.NewTicker(b.opts.Heartbeat)
	defer t.Stop()
	up := false
	for {
		select {
		case <-b.quit:
			return
		case <-b.changed:
			up = b.connectionChanged(up)
		case m := <-b.ctl:
			b.control(m)
		case now := <-t.C:
			if b.connected() {
				b.mu.Lock()
				seq := b.seq
				b.mu.Unlock()
				b.publishHub(hubMsg{Kind: "beat", Seq: seq}, "")
			}
			b.expire(now)
		}
	}
}

// connectionChanged acts on the connection going down (other hubs'
// devices become unreachable) or coming up (hello with our snapshot).
func (b *Broker) connectionChanged(wasUp bool) bool {
	up := b.connected()
	reconnects := b.nc.Stats().Reconnects
	blip := reconnects != b.reconnects // down and up again between two looks
	b.reconnects = reconnects
	switch {
	case up && (!wasUp || blip):
		b.publishSnapshot("hello", "", b.subj.hub(b.inst, "snap"))
	case !up && wasUp:
		b.mu.Lock()
		var ev []broker.Presence
		for inst, r := range b.tab.hubs {
			ev = b.tab.drop(inst, reasonUnreachable(r.name, "this hub lost its NATS connection"), ev)
		}
		b.mu.Unlock()
		b.deliver(ev)
	}
	return up
}

// control applies one message from P.presence, P.hubs or our inbox.
func (b *Broker) control(m *nats.Msg) {
	if m.Subject == b.subj.hub(b.inst, "sync") {
		b.publishSnapshot("snap", m.Reply, "")
		return
	}
	if m.Subject == b.subj.presence() {
		var pm presenceMsg
		if json.Unmarshal(m.Data, &pm) == nil && pm.Inst != b.inst && pm.Inst != "" {
			b.applyPresence(pm)
		}
		return
	}
	var hm hubMsg
	if json.Unmarshal(m.Data, &hm) != nil || hm.Inst == b.inst || hm.Inst == "" {
		return
	}
	b.applyHub(hm, m.Reply)
}

// applyPresence applies another hub's event, asking for its snapshot when
// an event was missed.
func (b *Broker) applyPresence(pm presenceMsg) {
	b.mu.Lock()
	r := b.tab.hub(pm.Inst, pm.Hub, time.Now())
	switch {
	case pm.Seq <= r.seq && !r.dirty:
		b.mu.Unlock() // already in the snapshot applied
		return
	case pm.Seq == r.seq+1 && !r.dirty:
		r.seq = pm.Seq
	default:
		r.dirty = true
	}
	var ev []broker.Presence
	p := toPresence(pm)
	switch cur, ok := r.held[p.Device]; {
	case pm.Kind != "":
		b.tab.watch(r, pm.Device, pm.Kind == "watch")
	case p.Online:
		r.held[p.Device] = p
	case ok && cur.Conn == p.Conn:
		delete(r.held, p.Device)
	}
	if pm.Kind == "" {
		ev = b.tab.settle(p.Device, p.Reason, nil)
	}
	ask := b.needSnapshot(r, pm.Seq)
	b.mu.Unlock()
	b.deliver(ev)
	if ask {
		b.askSnapshot(pm.Inst)
	}
}

// applyHub applies another hub's heartbeat, hello, snapshot or goodbye.
func (b *Broker) applyHub(hm hubMsg, reply string) {
	now := time.Now()
	var ev []broker.Presence
	ask := false
	b.mu.Lock()
	if r := b.tab.hubs[hm.Inst]; hm.Hub == b.opts.Hub && (r == nil || !r.warned) {
		b.log.Error("another hub process uses this hub's name; give each hub its own --name", "name", hm.Hub)
		b.tab.hub(hm.Inst, hm.Hub, now).warned = true
	}
	switch hm.Kind {
	case "bye":
		ev = b.tab.drop(hm.Inst, "hub "+hm.Hub+" shut down", ev)
	case "hello", "snap":
		r := b.tab.hub(hm.Inst, hm.Hub, now)
		held, watching, whole := r.collect(hm)
		if !whole {
			reply = "" // answered after the last part
			break
		}
		if hm.Seq >= r.seq { // not overtaken by events already applied
			ev = b.tab.replace(r, held, "hub "+hm.Hub+" no longer holds it", ev)
			b.tab.replaceWatching(r, watching)
			r.seq, r.dirty = hm.Seq, false
		}
	case "beat":
		ask = b.needSnapshot(b.tab.hub(hm.Inst, hm.Hub, now), hm.Seq)
	}
	b.mu.Unlock()
	b.deliver(ev)
	if hm.Kind == "hello" && reply != "" {
		b.publishSnapshot("snap", reply, "")
	}
	if ask {
		b.askSnapshot(hm.Inst)
	}
}

// needSnapshot reports whether r's holdings may be out of date (missed
// events, or a beat announcing a sequence number not seen), at most once
// a heartbeat; called with b.mu held.
func (b *Broker) needSnapshot(r *remote, seq uint64) bool {
	if !r.dirty && r.seq == seq {
		return false
	}
	r.dirty = true
	now := time.Now()
	if now.Sub(r.asked) < b.opts.Heartbeat {
		return false
	}
	r.asked = now
	return true
}

// askSnapshot asks instance inst for its holdings.
func (b *Broker) askSnapshot(inst string) {
	if !b.connected() {
		return
	}
	err := b.nc.PublishRequest(b.subj.hub(inst, "sync"), b.subj.hub(b.inst, "snap"), nil)
	if err != nil {
		b.log.Debug("snapshot request failed", "instance", inst, "err", err)
	}
}

// expire forgets the hubs not heard from in three heartbeats.
func (b *Broker) expire(now time.Time) {
	b.mu.Lock()
	var ev []broker.Presence
	for inst, r := range b.tab.hubs {
		if now.Sub(r.seen) > 3*b.opts.Heartbeat+b.opts.Heartbeat/2 {
			b.log.Warn("hub stopped answering; forgetting its devices", "other", r.name, "devices", len(r.held))
			ev = b.tab.drop(inst, reasonUnreachable(r.name, "no heartbeat over NATS"), ev)
		}
	}
	b.mu.Unlock()
	b.deliver(ev)
}
