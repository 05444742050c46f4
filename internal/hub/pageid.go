package hub

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"tether/internal/hub/broker"
	"tether/internal/hub/hubws"
	"tether/internal/pagetag"
)

// Page identity (package pagetag, docs/PROTOCOL.md "Page identity through
// a hub"): a device that offers the subprotocol gets every page's message
// tagged with the page's id, and what it sends tagged goes to that page
// alone. Untagged device messages take the path they always took; only a
// device message whose first byte is '@' on such a connection costs more.

// newPagePrefix returns the start of this hub process's page ids: its
// name (bytes a page id cannot hold written '_'), and a random part so
// that a hub restarted under the same name never hands out an id a
// device may still hold.
func newPagePrefix(name string) string {
	var nonce [4]byte
	rand.Read(nonce[:])
	safe := []byte(name)
	for i, c := range safe {
		if c < '!' || c > '~' || c == '/' {
			safe[i] = '_'
		}
	}
	if len(safe) > 64 {
		safe = safe[:64]
	}
	return string(safe) + "/" + hex.EncodeToString(nonce[:]) + "/"
}

// grantPages answers a device's offer of page identity: it grants it when
// the handshake offers it, and reports whether it did.
func grantPages(w http.ResponseWriter, r *http.Request) bool {
	if !hubws.Offered(r, pagetag.Subprotocol) {
		return false
	}
	w.Header().Set("Sec-WebSocket-Protocol", pagetag.Subprotocol)
	return true
}

// forDevice returns what device d is sent for m: m's data, tagged with its
// page when d takes page identity (every page message then is, with no id
// when m names none), or the news that a page went; ok is false when there
// is nothing to send (that news, for a device that does not take it).
func forDevice(d *peer, m broker.Message) (data []byte, ok bool) {
	switch {
	case !d.tagged:
		return m.Data, !m.PageGone
	case m.PageGone:
		return pagetag.Gone(m.Page), true
	}
	return pagetag.Tag(m.Page, m.Data), true
}

// untag takes the page tag off a message of device p (one that takes page
// identity) into msg.Page; it reports false, counting a drop, for a tag
// that is not well formed or names no page.
func (h *Hub) untag(p *peer, msg *broker.Message) bool {
	if !p.tagged || len(msg.Data) == 0 || msg.Data[0] != pagetag.Mark {
		return true
	}
	id, data, _, ok := pagetag.Split(msg.Data)
	if !ok || id == "" {
		h.metrics.drops.WithLabelValues("bad_page_tag").Inc()
		h.warnings.Warn("device message with a bad page tag dropped", "device", p.id, "remote", p.remote)
		return false
	}
	msg.Page, msg.Data = id, data
	return true
}

// pageHere reports whether page id was given by this hub (to a page that
// may have gone since).
func (h *Hub) pageHere(id string) bool {
	return id != "" && strings.HasPrefix(id, h.pagePrefix)
}

// toPage queues a device's message for the one page of this hub it names.
// When the id is one this hub gave and the page has gone (its news was
// lost, or crossed the message), the device is told again.
func (h *Hub) toPage(m broker.Message) {
	var to *peer
	h.mu.RLock()
	pages, dev := h.pages[m.Device], h.devices[m.Device]
	h.mu.RUnlock()
	for _, p := range pages {
		if p.pageID == m.Page {
			to = p
			break
		}
	}
	if to == nil {
		if h.pageHere(m.Page) {
			h.metrics.drops.WithLabelValues("page_gone").Inc()
			h.broker.ToDevice(broker.Message{Device: m.Device, Page: m.Page, PageGone: true})
		}
		return
	}
	h.fan(dev, []*peer{to}, item{kind: kindOf(m), data: m.Data})
}

// pageGone tells p's device that p went, when p sent it something and it
// takes page identity.
func (h *Hub) pageGone(p *peer) {
	if !p.spoke.Load() {
		return
	}
	if d, ok := h.broker.Lookup(p.id); ok && d.Pages {
		h.broker.ToDevice(broker.Message{Device: p.id, Page: p.pageID, PageGone: true})
	}
}
