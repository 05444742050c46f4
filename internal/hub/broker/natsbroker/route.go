package natsbroker

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"tether/internal/hub/broker"
)

// deliver hands presence changes to the Handler, in order.
func (b *Broker) deliver(ps []broker.Presence) {
	for _, p := range ps {
		b.h.Presence(p)
	}
}

// Hold implements broker.Broker: page messages for p.Device published on
// NATS now come here, and every hub hears p. A connection that comes while
// another hub holds the device is the newest by definition: when that
// hub's clock is ahead, p.Since is moved just past its connection's.
func (b *Broker) Hold(p broker.Presence) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	p = b.tab.newest(p)
	b.tab.local[p.Device] = p
	var err error
	if b.holdSub[p.Device] == nil {
		var sub *nats.Subscription
		sub, err = b.nc.ChanSubscribe(b.subj.in(p.Device, '*'), b.data)
		if err == nil {
			b.holdSub[p.Device] = sub
		} else {
			err = fmt.Errorf("subscribe to messages for device %s: %w", p.Device, err)
		}
	}
	ev := b.tab.settle(p.Device, "", nil)
	b.publishPresence(p)
	b.mu.Unlock()
	b.deliver(ev)
	return err
}

// Release implements broker.Broker; a release of a connection that was
// already replaced is ignored, since the newer one holds the id.
func (b *Broker) Release(p broker.Presence) error {
	b.mu.Lock()
	cur, ok := b.tab.local[p.Device]
	if !ok || cur.Conn != p.Conn || cur.Hub != p.Hub || b.closed {
		b.mu.Unlock()
		return nil
	}
	delete(b.tab.local, p.Device)
	if sub := b.holdSub[p.Device]; sub != nil {
		sub.Unsubscribe()
		delete(b.holdSub, p.Device)
	}
	ev := b.tab.settle(p.Device, p.Reason, nil)
	b.publishPresence(p)
	b.mu.Unlock()
	b.deliver(ev)
	return nil
}

// Watch implements broker.Broker: the first watch of a device subscribes
// to its messages from other hubs.
func (b *Broker) Watch(device string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.watch[device]
	if w == nil {
		w = &watched{}
		b.watch[device] = w
	}
	if w.n++; w.n == 1 && !b.closed {
		b.publishEvent(presenceMsg{Kind: "watch", Device: device, Hub: b.opts.Hub})
	}
	if w.sub != nil || b.closed {
		return nil
	}
	sub, err := b.nc.ChanSubscribe(b.subj.out(device, '*'), b.data)
	if err != nil {
		return fmt.Errorf("subscribe to messages of device %s: %w", device, err)
	}
	w.sub = sub
	return nil
}

// Unwatch implements broker.Broker: the last unwatch unsubscribes.
func (b *Broker) Unwatch(device string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.watch[device]
	if w == nil {
		return nil
	}
	if w.n--; w.n > 0 {
		return nil
	}
	delete(b.watch, device)
	if !b.closed {
		b.publishEvent(presenceMsg{Kind: "unwatch", Device: device, Hub: b.opts.Hub})
	}
	if w.sub != nil {
		w.sub.Unsubscribe()
	}
	return nil
}

// ToDevice implements broker.Broker: straight to the Handler when the
// device is held here, over NATS when another hub holds it; an error
// wrapping ErrUnreachable when it is not here and NATS is down.
func (b *Broker) ToDevice(m broker.Message) error {
	b.mu.RLock()
	e, ok := b.tab.win[m.Device]
	b.mu.RUnlock()
	switch {
	case ok && e.inst == "":
		return b.h.ToDevice(m)
	case !b.connected():
		// While NATS is down the device may be on any hub.
		return fmt.Errorf("device %s is not on this hub: %w", m.Device, ErrUnreachable)
	case !ok:
		return broker.ErrOffline
	case !e.p.Pages:
		m.Page = "" // a device without page identity: no header to send
	}
	if err := b.publish(b.subj.in(m.Device, kindByte(m.Binary)), m); err != nil {
		return fmt.Errorf("device %s is on hub %s: publish: %w", m.Device, e.p.Hub, err)
	}
	return nil
}

// ToPages implements broker.Broker: the pages here get m at once, and it
// is published when other hubs have pages of m.Device and NATS is up.
func (b *Broker) ToPages(m broker.Message) error {
	b.h.ToPages(m)
	b.mu.RLock()
	remote := b.tab.interest[m.Device] > 0
	b.mu.RUnlock()
	if !remote || !b.connected() {
		return nil
	}
	err := b.publish(b.subj.out(m.Device, kindByte(m.Binary)), m)
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("publish message of device %s: %w", m.Device, err)
	}
	return nil
}

// Lookup implements broker.Broker.
func (b *Broker) Lookup(device string) (broker.Presence, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.tab.win[device]
	return e.p, ok
}

// Devices implements broker.Broker: every device of the cluster, sorted
// by id, with the hub holding it.
func (b *Broker) Devices() []broker.Presence {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.tab.devices()
}

// Shadow implements broker.Broker: a device on another hub is asked for
// there (within Options.RequestTimeout); otherwise this hub's Handler answers.
func (b *Broker) Shadow(device string) []byte {
	b.mu.RLock()
	e, ok := b.tab.win[device]
	b.mu.RUnlock()
	if ok && e.inst != "" && b.connected() {
		m, err := b.nc.Request(b.subj.hub(e.inst, "shadow"), []byte(device), b.opts.RequestTimeout)
		if err == nil && len(m.Data) > 0 {
			return m.Data
		}
		if err != nil {
			b.log.Debug("shadow request failed", "device", device, "holder", e.p.Hub, "err", err)
		}
	}
	if b.h == nil {
		return nil
	}
	return b.h.Shadow(device)
}

// dataLoop hands device and page messages from other hubs to the Handler,
// and applies presence events in the order they came with the messages.
func (b *Broker) dataLoop() {
	presence := b.subj.presence()
	for {
		select {
		case <-b.quit:
			return
		case m := <-b.data:
			if m.Subject == presence {
				b.control(m)
				continue
			}
			device, in, binary, ok := b.subj.parseDev(m.Subject)
			if !ok {
				continue
			}
			msg := broker.Message{Device: device, Binary: binary, Data: m.Data}
			if m.Header != nil {
				msg.Page, msg.PageGone = m.Header.Get(hdrPage), m.Header.Get(hdrPageGone) != ""
			}
			if in {
				if err := b.h.ToDevice(msg); err != nil {
					b.dropped(device, err)
				}
			} else {
				b.h.ToPages(msg)
			}
		}
	}
}

// The headers of a message for or from one page (broker.Message.Page):
// only such messages have headers, so the rest cost nothing more. A hub
// of an older release ignores them: it gives a device the page's message
// untagged and its pages a message for one of them, as it always did.
const (
	hdrPage     = "Tether-Page"
	hdrPageGone = "Tether-Page-Gone"
)

// publish sends m's data on subject, with m's page in headers when it
// names one.
func (b *Broker) publish(subject string, m broker.Message) error {
	if m.Page == "" {
		return b.nc.Publish(subject, m.Data)
	}
	nm := &nats.Msg{Subject: subject, Data: m.Data, Header: nats.Header{hdrPage: {m.Page}}}
	if m.PageGone {
		nm.Header[hdrPageGone] = []string{"1"}
	}
	return b.nc.PublishMsg(nm)
}

// dropped counts a page's message from another hub that the device here
// could not take (its queue is full, or it just went), logging at most
// every 10 s.
func (b *Broker) dropped(device string, err error) {
	n := b.drops.Add(1)
	now := time.Now().UnixNano()
	last := b.lastDropLog.Load()
	if now-last > int64(10*time.Second) && b.lastDropLog.CompareAndSwap(last, now) {
		b.log.Warn("message from a page on another hub dropped", "device", device, "err", err, "dropped_total", n)
	}
}

// Dropped counts the messages from pages on other hubs that the devices
// here could not take.
func (b *Broker) Dropped() uint64 { return b.drops.Load() }
