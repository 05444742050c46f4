package hub

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"tether/internal/hub/broker"
	"tether/internal/hub/hubws"
	"tether/internal/relaylog"
	"tether/internal/wsframe"
)

// deviceHandler serves the device port: every path is /<device-id>, but
// a device's artifact downloads, /<device-id>/artifacts/<sha256>.
func (h *Hub) deviceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wsframe.IsUpgrade(r) && h.enrollHandler(w, r) {
			return
		}
		if id, sha, ok := artifactPath(r.URL.Path); ok && !wsframe.IsUpgrade(r) {
			h.serveArtifact(w, r, id, sha)
			return
		}
		path, ok := h.endpointID(w, r, "device")
		if !ok {
			return
		}
		used := h.auth()
		id, viaAlias := h.aliasOf(path)
		held, ok := h.admit429(w, r, h.devLimit, "device", id)
		if !ok {
			return
		}
		defer held.done()
		cred, err := h.authDevice(r, id, viaAlias)
		if err != nil {
			h.refuse(w, r, "device", id, err)
			return
		}
		h.connect(w, r, roleDevice, id, held, used, func(p *peer) {
			p.devCred = cred
			p.tagged = grantPages(w, r)
		})
	})
}

// connect ends the upgrade of an admitted request to the device or page
// endpoint (held its slot, used the auth file that let it in): it makes
// the peer, set up by setup, upgrades its connection, registers it as a
// device or a page and starts delivering its events.
func (h *Hub) connect(w http.ResponseWriter, r *http.Request, as role, id string, held *slot, used *authConfig, setup func(*peer)) {
	if !h.enter() {
		refuseUpgrade(w, http.StatusServiceUnavailable, "hub shutting down")
		return
	}
	clearReadDeadline(w)
	p := h.newPeer(as, id, r.RemoteAddr)
	setup(p)
	held.giveTo(p)
	var ev hubws.Handler = deviceEvents{p}
	add := h.addDevice
	if as == rolePage {
		ev, add = pageEvents{p}, h.addPage
	}
	c, err := h.opts.Upgrader.Upgrade(w, r, guarded{p, ev})
	if err != nil {
		h.wg.Done()
		p.ended()
		h.log.Debug(as.String()+" upgrade failed", "device", id, "remote", r.RemoteAddr, "err", err)
		return
	}
	p.conn = c
	add(p)
	h.run(p)
	h.holdToAuth(p, used)
}

// endpointID checks the request of a WebSocket endpoint and returns the
// device id in its path; it answers 400 for a bad id or a plain request
// (and closes the connection, as for every refusal of an upgrade).
func (h *Hub) endpointID(w http.ResponseWriter, r *http.Request, role string) (string, bool) {
	id := r.URL.Path[1:]
	if err := ValidID(id); err != nil {
		h.metrics.badRequests.WithLabelValues(role).Inc()
		refuseUpgrade(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	if !wsframe.IsUpgrade(r) {
		h.metrics.badRequests.WithLabelValues(role).Inc()
		refuseUpgrade(w, http.StatusBadRequest, "this is a WebSocket endpoint: connect with ws://"+r.Host+"/"+id)
		return "", false
	}
	if h.stopping.Load() {
		refuseUpgrade(w, http.StatusServiceUnavailable, "hub shutting down")
		return "", false
	}
	return id, true
}

// addDevice makes p the connection of its device id, replacing (and
// closing) an older one, and tells the pages.
func (h *Hub) addDevice(p *peer) {
	h.presenceMu.Lock()
	defer h.presenceMu.Unlock()
	h.mu.Lock()
	old := h.devices[p.id]
	h.devices[p.id] = p
	rec := h.recordFor(p.id)
	h.cameOnline(rec)
	h.mu.Unlock()
	rec.mu.Lock()
	rec.online, rec.since, rec.reason, rec.remote, rec.tagged = true, p.since, "", p.remote, p.tagged
	rec.sh.restart()
	rec.mu.Unlock()
	h.metrics.connections.WithLabelValues("device").Inc()
	if old != nil {
		const why = "replaced by a newer connection"
		old.kill(hubws.CodeReplaced, why)
		h.broker.Release(h.presence(old, false, why))
		h.log.Info("device replaced", "device", p.id, "old_remote", old.remote, "remote", p.remote)
	}
	h.broker.Hold(h.presence(p, true, ""))
	if p.devCred.rule != "" {
		h.log.Warn("device connected without credentials, by a weaker rule", "device", p.id, "remote", p.remote, "rule", p.devCred.rule)
	} else {
		h.log.Info("device connected", "device", p.id, "remote", p.remote)
	}
}

// removeDevice forgets p when its connection ends, unless a newer one
// replaced it, and tells the pages why it went.
func (h *Hub) removeDevice(p *peer, reason string) {
	h.presenceMu.Lock()
	defer h.presenceMu.Unlock()
	h.metrics.connections.WithLabelValues("device").Dec()
	h.mu.Lock()
	current := h.devices[p.id] == p
	if current {
		delete(h.devices, p.id)
	}
	rec := h.records[p.id]
	if current && rec != nil {
		rec.mu.Lock()
		rec.online, rec.since, rec.reason = false, time.Now(), reason
		rec.mu.Unlock()
		h.wentOffline(rec)
	}
	h.mu.Unlock()
	if !current {
		return
	}
	h.broker.Release(h.presence(p, false, reason))
	h.log.Info("device disconnected", "device", p.id, "remote", p.remote, "reason", reason)
}

func (h *Hub) presence(p *peer, online bool, reason string) broker.Presence {
	since := p.since
	if !online {
		since = time.Now()
	}
	return broker.Presence{Device: p.id, Hub: h.opts.Name, Conn: p.connID, Online: online, Reason: reason, Since: since, Pages: p.tagged}
}

// deviceEvents handles a device connection's reads.
type deviceEvents struct{ p *peer }

func (e deviceEvents) OnMessage(kind hubws.Kind, data []byte) {
	p, h := e.p, e.p.h
	p.touch()
	msg := broker.Message{Device: p.id, Binary: kind == hubws.Binary, Data: append([]byte(nil), data...)}
	if !h.untag(p, &msg) {
		return
	}
	if a := p.devCred.alias; a != nil {
		// A seed device calls home to /<its iam> and so says its alias
		// as its id: it stays between the device and the hub.
		msg.Data = bytes.ReplaceAll(msg.Data, a, []byte(p.id))
	}
	if rec := h.record(p.id); rec != nil {
		if !msg.Binary && msg.Page == "" { // a reply to one page is an event
			n, labels := rec.update(msg.Data, h.shadowLimits)
			if n > 0 {
				h.metrics.shadowDropped.Add(float64(n))
			}
			if labels {
				h.regrant(p.id)
			}
		}
		rec.mu.Lock()
		rec.msgsIn++
		rec.mu.Unlock()
	}
	h.relayed(relaylog.DeviceToPages, msg)
	p.beginFan()
	if h.pageHere(msg.Page) {
		h.toPage(msg) // the cluster has no need of it
	} else {
		h.broker.ToPages(msg)
	}
	p.endFan()
}

func (e deviceEvents) OnReadWait() { e.p.flushFan() }
func (e deviceEvents) OnDrain()    { e.p.drained() }

func (e deviceEvents) OnPing(data []byte) {
	e.p.touch()
	e.p.send(item{kind: itemPong, data: append([]byte(nil), data...)})
}

func (e deviceEvents) OnPong([]byte) { e.p.touch() }

func (e deviceEvents) OnClose(code int, reason string, err error) {
	p := e.p
	p.flushFan()
	p.ended()
	p.h.removeDevice(p, goneReason(p, "device", code, reason, err))
}

// goneReason says why a connection ended, for pages and the log.
func goneReason(p *peer, who string, code int, reason string, err error) string {
	if why, ok := p.closedBy(); ok {
		return why
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.h.metrics.slowCloses.WithLabelValues(p.role.String()).Inc()
		return "slow consumer: write timed out"
	}
	switch {
	case code != 0 && reason != "":
		return fmt.Sprintf("closed by the %s (%d %s)", who, code, reason)
	case code != 0:
		return fmt.Sprintf("closed by the %s (%d)", who, code)
	case err == nil:
		return "closed by the " + who
	}
	return "connection lost: " + err.Error()
}

// relayed counts and logs one relayed message. The message log reports
// its own write failures (once, and when it writes again) and counts the
// lines it loses (tether_hub_message_log_lost_lines_total).
func (h *Hub) relayed(dir relaylog.Direction, m broker.Message) {
	h.metrics.relayed(dir, len(m.Data))
	if h.opts.RelayLog != nil {
		h.opts.RelayLog.Write(relaylog.Entry{Time: time.Now(), Dir: dir, Device: m.Device, Page: m.Page, Binary: m.Binary, Data: m.Data})
	}
}
