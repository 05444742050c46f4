package hub

import (
	"net/http"

	"tether/internal/hub/access"
	"tether/internal/hub/audit"
)

// admit checks a page's message against what its principal may do on its
// device, as the auth file says now: a message needing more is not
// relayed, the page gets an error saying why, and the refusal is counted
// and audited. The page stays open and keeps receiving. need says what
// the message needs when the hub had to look (Verb None when it did not:
// a page that may do everything, with no audit log to write).
func (h *Hub) admit(p *peer, binary bool, data []byte) (need access.Need, ok bool) {
	verb := access.Verb(p.verb.Load())
	if verb >= access.Admin && h.opts.Audit == nil {
		return access.Need{}, true
	}
	need = access.Needed(binary, data)
	if need.Verb <= verb {
		return need, true
	}
	who := p.who.Load()
	h.metrics.refused.WithLabelValues(need.Verb.String()).Inc()
	h.warnings.Warn("page message refused", "device", p.id, "who", who.name, "remote", p.remote, "request", need.What, "needs", need.Verb, "may", verb)
	p.send(item{kind: itemText, data: msgError("refused: %s needs %s on %s; %s may only %s it", need.What, need.Verb, p.id, who.name, verb)})
	h.audit(p, need, data, false, "needs "+need.Verb.String()+", may only "+verb.String())
	return need, false
}

// audit records a page's request in the audit log: every admin item, and
// every refusal.
func (h *Hub) audit(p *peer, need access.Need, data []byte, allowed bool, reason string) {
	if h.opts.Audit == nil || allowed && need.Verb < access.Admin {
		return
	}
	e := audit.Entry{Who: p.who.Load().name, Remote: p.remote, Device: p.id, Action: need.What,
		Allowed: allowed, Reason: reason}
	if need.What != "a binary message" {
		e.Request = string(data)
	}
	h.opts.Audit.Record(e)
}

// auditHTTP records an administrative request to the hub's API.
func (h *Hub) auditHTTP(r *http.Request, device, action string, allowed bool, reason string) {
	if h.opts.Audit == nil {
		return
	}
	h.opts.Audit.Record(audit.Entry{Who: requestPrincipal(r).name, Remote: r.RemoteAddr, Device: device,
		Action: action, Allowed: allowed, Reason: reason})
}
