package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"tether/internal/hub/access"
	"tether/internal/hub/broker"
	"tether/internal/hub/hubws"
	"tether/internal/relaylog"
)

// Presence messages pages get, in the device protocol's flat-key style.
var (
	msgConnected = []byte(`{"hub/device/connected": true}`)
)

func msgDisconnected(reason string) []byte {
	b, _ := json.Marshal(map[string]any{"hub/device/connected": false, "hub/device/reason": reason})
	return b
}

func msgError(format string, args ...any) []byte {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	return b
}

// servePage upgrades a page's WebSocket for the device id in its path.
func (h *Hub) servePage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.endpointID(w, r, "page")
	if !ok {
		return
	}
	if err := h.checkOrigin(r); err != nil {
		h.metrics.authFailures.WithLabelValues("page", "origin").Inc()
		h.warnings.Warn("page refused", "device", id, "remote", r.RemoteAddr, "err", err)
		refuseUpgrade(w, http.StatusForbidden, err.Error())
		return
	}
	used := h.auth()
	held, ok := h.admit429(w, r, h.pageLimit, "page", id)
	if !ok {
		return
	}
	defer held.done()
	who, err := h.authPage(r)
	if err != nil {
		h.refuse(w, r, "page", id, err)
		return
	}
	verb := h.verbOn(who, id)
	if verb < access.View {
		h.refuse(w, r, "page", id, fmt.Errorf("%w %s (%s may not view it)", errNoGrant, id, who.name))
		return
	}
	h.connect(w, r, rolePage, id, held, used, func(p *peer) {
		p.pageID = h.pagePrefix + strconv.FormatUint(p.connID, 10)
		p.who.Store(who)
		p.verb.Store(uint32(verb))
	})
}

// addPage registers p and sends it the device's shadow, marked as replayed
// (replayOf), then whether the device is connected.
func (h *Hub) addPage(p *peer) {
	h.mu.Lock()
	ps := h.pages[p.id]
	first := len(ps) == 0
	h.pages[p.id] = append(slices.Clip(ps), p)
	h.mu.Unlock()
	h.metrics.connections.WithLabelValues("page").Inc()
	if first {
		h.broker.Watch(p.id)
	}
	if s := replayOf(h.broker.Shadow(p.id), time.Now(), h.opts.MaxMessage); s != nil {
		p.send(item{kind: itemText, data: s})
	}
	// Under the page's queue lock, so that a presence event racing with
	// this one cannot be overtaken by a stale status.
	p.sendMade(func() item {
		if _, online := h.broker.Lookup(p.id); online {
			return item{kind: itemText, data: msgConnected}
		}
		return item{kind: itemText, data: msgDisconnected("not connected")}
	})
	h.log.Debug("page connected", "device", p.id, "remote", p.remote)
}

func (h *Hub) removePage(p *peer, reason string) {
	h.mu.Lock()
	ps := h.pages[p.id]
	i := slices.Index(ps, p)
	if i >= 0 {
		ps = slices.Delete(slices.Clone(ps), i, i+1)
		if len(ps) == 0 {
			delete(h.pages, p.id)
		} else {
			h.pages[p.id] = ps
		}
	}
	h.mu.Unlock()
	if i < 0 {
		return
	}
	h.metrics.connections.WithLabelValues("page").Dec()
	if len(ps) == 0 {
		h.broker.Unwatch(p.id)
	}
	h.pageGone(p)
	h.log.Debug("page disconnected", "device", p.id, "remote", p.remote, "reason", reason)
}

// pagesOf returns the pages of a device (a slice never modified).
func (h *Hub) pagesOf(id string) []*peer {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.pages[id]
}

// toPages queues a message for every page of id, closing those whose
// queue is full. While the device of id is delivering a read batch, page
// writers are woken when the batch ends rather than for every message.
func (h *Hub) toPages(id string, it item) {
	h.mu.RLock()
	pages, dev := h.pages[id], h.devices[id]
	h.mu.RUnlock()
	h.fan(dev, pages, it)
}

// fan queues it for pages, closing those whose queue is full; dev is
// their device when it is held here (nil otherwise), whose read batch
// wakes the pages' writers when it ends.
func (h *Hub) fan(dev *peer, pages []*peer, it item) {
	if len(pages) > 1 && it.kind <= itemBinary {
		kind := hubws.Text
		if it.kind == itemBinary {
			kind = hubws.Binary
		}
		it.prep = hubws.Prepare(kind, it.data)
	}
	if dev != nil {
		dev.fanMu.Lock()
		if dev.inMsg {
			for _, p := range pages {
				ok, idle := p.enqueue(it)
				if !ok {
					h.slowConsumer(p)
				} else if idle {
					dev.pending = append(dev.pending, p)
				}
			}
			dev.fanMu.Unlock()
			return
		}
		dev.fanMu.Unlock()
	}
	// Outside a device's read batch (presence, a message from another
	// hub), one goroutine writes to the pages, so the caller never waits
	// for their sockets and what keeps coming meanwhile goes in batches.
	var woken []*peer
	for _, p := range pages {
		ok, idle := p.enqueue(it)
		if !ok {
			h.slowConsumer(p)
		} else if idle {
			woken = append(woken, p)
		}
	}
	if len(woken) > 0 {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for _, p := range woken {
				p.wake()
			}
		}()
	}
}

func (h *Hub) slowConsumer(p *peer) {
	h.metrics.drops.WithLabelValues("page_queue_full").Inc()
	h.metrics.slowCloses.WithLabelValues(p.role.String()).Inc()
	p.mu.Lock()
	n, size := len(p.q), p.qBytes
	p.mu.Unlock()
	h.warnings.Warn("closing slow page", "device", p.id, "remote", p.remote, "queued", n, "queued_bytes", size)
	p.kill(hubws.CodePolicyViolation, fmt.Sprintf("slow consumer: send queue full (%d messages, %d bytes)", n, size))
}

// writeFailed closes a peer whose write failed or timed out.
func (h *Hub) writeFailed(p *peer, err error) {
	if _, closing := p.closedBy(); closing {
		return
	}
	if errors.Is(err, errTimeout) || isTimeout(err) {
		h.metrics.slowCloses.WithLabelValues(p.role.String()).Inc()
		p.kill(hubws.CodePolicyViolation, "slow consumer: write timed out")
		return
	}
	p.kill(hubws.CodeGoingAway, "write failed")
}

// pageEvents handles a page connection's reads.
type pageEvents struct{ p *peer }

func (e pageEvents) OnMessage(kind hubws.Kind, data []byte) {
	p, h := e.p, e.p.h
	p.touch()
	need, ok := h.admit(p, kind == hubws.Binary, data)
	if !ok {
		return
	}
	msg := broker.Message{Device: p.id, Binary: kind == hubws.Binary, Data: append([]byte(nil), data...), Page: p.pageID}
	p.spoke.Store(true)
	err := h.broker.ToDevice(msg)
	switch {
	case errors.Is(err, broker.ErrOffline):
		h.metrics.drops.WithLabelValues("device_offline").Inc()
		p.send(item{kind: itemText, data: msgError("device %s is not connected", p.id)})
	case errors.Is(err, errDeviceBusy):
		h.metrics.drops.WithLabelValues("device_queue_full").Inc()
		p.send(item{kind: itemText, data: msgError("device %s is busy: its send queue is full, message dropped", p.id)})
	case err != nil:
		h.metrics.drops.WithLabelValues("broker_error").Inc()
		p.send(item{kind: itemText, data: msgError("relay to device %s: %v", p.id, err)})
	default:
		h.relayed(relaylog.PageToDevice, msg)
	}
	if need.Verb == access.Admin {
		reason := ""
		if err != nil {
			reason = "not delivered: " + err.Error()
		}
		h.audit(p, need, data, true, reason)
	}
}

func (e pageEvents) OnPing(data []byte) {
	e.p.touch()
	e.p.send(item{kind: itemPong, data: append([]byte(nil), data...)})
}

func (e pageEvents) OnPong([]byte) { e.p.touch() }
func (e pageEvents) OnReadWait()   {}
func (e pageEvents) OnDrain()      { e.p.drained() }

func (e pageEvents) OnClose(code int, reason string, err error) {
	p := e.p
	p.ended()
	p.h.removePage(p, goneReason(p, "page", code, reason, err))
}
