package hub

import (
	"errors"
	"net"
	"os"

	"tether/internal/hub/broker"
	"tether/internal/hub/hubws"
)

// errDeviceBusy is the answer to a page whose device's queue is full.
var errDeviceBusy = errors.New("device send queue full")

var errTimeout = os.ErrDeadlineExceeded

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func kindOf(m broker.Message) itemKind {
	if m.Binary {
		return itemBinary
	}
	return itemText
}

// brokerHandler is the Hub as the broker's Handler.
type brokerHandler struct{ h *Hub }

var _ broker.Handler = brokerHandler{}

// ToDevice queues a page's message for the device held here.
func (b brokerHandler) ToDevice(m broker.Message) error {
	h := b.h
	h.mu.RLock()
	d := h.devices[m.Device]
	rec := h.records[m.Device]
	h.mu.RUnlock()
	if d == nil {
		return broker.ErrOffline
	}
	data, ok := forDevice(d, m)
	if !ok {
		return nil
	}
	// Counted before the send, which may write to the socket at once: a
	// device that has the message is never ahead of its count.
	rec.countOut(1)
	if !d.send(item{kind: kindOf(m), data: data}) {
		rec.countOut(-1)
		return errDeviceBusy
	}
	return nil
}

// ToPages queues a device's message for its pages here.
func (b brokerHandler) ToPages(m broker.Message) {
	if m.Page != "" {
		b.h.toPage(m)
		return
	}
	b.h.toPages(m.Device, item{kind: kindOf(m), data: m.Data})
}

// Presence tells this hub's pages that their device came or went, and
// closes a device held here when a newer connection for it is elsewhere.
func (b brokerHandler) Presence(p broker.Presence) {
	h := b.h
	if p.Online && p.Hub != h.opts.Name {
		h.mu.RLock()
		d := h.devices[p.Device]
		h.mu.RUnlock()
		if d != nil {
			d.kill(hubws.CodeReplaced, "replaced by a newer connection on hub "+p.Hub)
		}
	}
	data := msgConnected
	if !p.Online {
		data = msgDisconnected(p.Reason)
	}
	h.toPages(p.Device, item{kind: itemText, data: data})
}

// Shadow returns the shadow of a device this hub has held.
func (b brokerHandler) Shadow(device string) []byte {
	if rec := b.h.record(device); rec != nil {
		return rec.shadowJSON()
	}
	return nil
}
