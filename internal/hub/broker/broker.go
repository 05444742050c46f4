// Package broker is how the hub moves messages and presence between its
// connections: to the device with a given id, to the pages of a device, and
// the news of devices coming and going. The hub talks only to the Broker
// interface; broker/mem is the in-process default (one hub process), and a
// cluster implementation (NATS) can carry the same calls between hub
// processes.
//
// Ordering: messages published for one device id from one hub arrive in
// the order they were published. A Broker calls its Handler from its own
// goroutines; the Handler must not block (it queues, it does not write).
package broker

import "time"

// Message is one relayed WebSocket message for a device id; Data is never
// modified once published, so it may be shared by every receiver.
type Message struct {
	Device string
	Binary bool
	Data   []byte
	// Page names one page (package pagetag; "" for none). On a page's
	// message for the device, the page that sent it; on a device's
	// message, the only page it is for (every other page ignores it).
	Page string
	// PageGone, with Page, is no message (Data is empty) but the news,
	// for the device, that the page went.
	PageGone bool
}

// Presence says a device connection came (Online) or went.
type Presence struct {
	Device string
	// Hub names the hub process holding the connection.
	Hub string
	// Conn identifies the connection, unique within Hub.
	Conn uint64
	// Online is true when the connection came, false when it went.
	Online bool
	// Reason says why a connection went ("closed by the device", ...).
	Reason string
	// Since is when it came or went.
	Since time.Time
	// Pages is true when the connection takes page identity (package
	// pagetag): the device is told when a page that sent it something
	// goes.
	Pages bool
}

// Handler is the hub side of a Broker: where a Broker delivers.
type Handler interface {
	// ToDevice is a page's message for a device this hub holds; an error
	// (the device's queue is full) goes back to ToDevice's caller when it can.
	ToDevice(m Message) error
	// ToPages is a device's message for this hub's pages of m.Device.
	ToPages(m Message)
	// Presence is a device coming or going anywhere, for this hub's pages
	// and for taking over a device held here that connected elsewhere.
	Presence(p Presence)
	// Shadow returns the latest state (a JSON object) of a device this hub
	// holds, or nil, for Broker.Shadow callers on other hubs.
	Shadow(device string) []byte
}

// Broker routes messages and presence by device id.
type Broker interface {
	// Start begins delivering to h; it is called once, before the rest.
	Start(h Handler) error
	// Hold announces that this hub holds p.Device (p.Online is true): page
	// messages for it come to Handler.ToDevice, and every hub hears p.
	Hold(p Presence) error
	// Release announces that the connection p.Conn of p.Device went
	// (p.Online is false) and stops routing page messages here.
	Release(p Presence) error
	// Watch and Unwatch start and stop delivering ToPages and Presence for
	// a device to this hub, which has (or no longer has) pages for it.
	Watch(device string) error
	Unwatch(device string) error
	// ToDevice publishes a page's message to the hub holding m.Device; it
	// returns ErrOffline when no hub holds it.
	ToDevice(m Message) error
	// ToPages publishes a device's message to every hub watching m.Device.
	ToPages(m Message) error
	// Lookup returns where a device is connected, if it is.
	Lookup(device string) (Presence, bool)
	// Devices lists every connected device known.
	Devices() []Presence
	// Shadow returns a device's latest state from the hub holding it.
	Shadow(device string) []byte
	// Close stops delivery; it is idempotent.
	Close() error
}

// ErrOffline is ToDevice's answer when no hub holds the device.
var ErrOffline = errOffline{}

type errOffline struct{}

func (errOffline) Error() string { return "device is not connected" }
