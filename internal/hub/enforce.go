package hub

import (
	"tether/internal/hub/access"
)

// mayRelay checks a page's message against what its principal may do on
// its device, as the auth file says now: a message needing more is not
// relayed, the page gets an error saying why and the refusal is counted.
// The page stays open and keeps receiving.
func (h *Hub) mayRelay(p *peer, binary bool, data []byte) bool {
	verb := access.Verb(p.verb.Load())
	if verb >= access.Admin {
		return true
	}
	need := access.Needed(binary, data)
	if need.Verb <= verb {
		return true
	}
	who := p.who.Load()
	h.metrics.refused.WithLabelValues(need.Verb.String()).Inc()
	h.warnings.Warn("page message refused", "device", p.id, "who", who.name, "remote", p.remote, "request", need.What, "needs", need.Verb, "may", verb)
	p.send(item{kind: itemText, data: msgError("refused: %s needs %s on %s; %s may only %s it", need.What, need.Verb, p.id, who.name, verb)})
	return false
}
