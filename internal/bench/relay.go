package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// RelayOptions configure Relay. The zero value runs one device and one
// page on a hub at 127.0.0.1 in a closed loop for 10 s.
type RelayOptions struct {
	// Broker is "hub" (default: tether hub's device and page endpoints),
	// "mqtt" (an MQTT 3.1.1 broker over WebSocket at URL) or "tcp" (the raw
	// TCP relay, ServeTCPRelay, at URL tcp://HOST:PORT: the ceiling).
	Broker string
	// DeviceURL and PageURL are the hub's endpoints, without the device id;
	// defaults ws://127.0.0.1:7770 and ws://127.0.0.1:7771.
	DeviceURL, PageURL string
	// URL is the MQTT broker's WebSocket URL (Broker "mqtt"; default
	// ws://127.0.0.1:8080) or the raw relay's (Broker "tcp"; default
	// tcp://127.0.0.1:7000).
	URL string
	// Header is sent with every WebSocket handshake (e.g. a bearer token).
	Header http.Header
	// Devices is the number of devices, with ids IDPrefix0 … ; default 1.
	Devices int
	// Pages is the number of pages per device; default 1.
	Pages int
	// IDPrefix begins each device id; default "bench-".
	IDPrefix string
	// Size is each message's size in bytes; default 64, at least 24.
	Size int
	// Rate is the messages per second each device sends; 0 (default) runs a
	// closed loop instead: each sender has at most Window messages that not
	// every receiver has yet (one taken as lost after a second).
	Rate float64
	// PageRate is the messages per second each page sends; default Rate.
	PageRate float64
	// Window is how many messages each sender of a closed loop may have in
	// flight; default 1 (one message at a time, which measures latency;
	// a larger window measures capacity).
	Window int
	// Direction is "both" (default), "down" (device→page only) or "up"
	// (page→device only).
	Direction string
	// Duration is how long messages are sent; default 10 s.
	Duration time.Duration
	// Drain is how long to wait after sending for messages still in flight
	// before counting the missing ones lost; default 2 s.
	Drain time.Duration
	// PID, when set, is the hub's (or broker's) process, whose CPU use is
	// reported beside the benchmark's own.
	PID int
	// Progress, when set, gets a line every Interval (default 1 s).
	Progress Progress
	Interval time.Duration
}

// Direction is what Relay measured one way.
type Direction struct {
	// Sent is the messages senders wrote; Expected is Sent times the
	// receivers of each (pages of the device, or 1).
	Sent     uint64 `json:"sent"`
	Expected uint64 `json:"expected"`
	// Delivered is what arrived while senders were sending, and Rate that
	// per second; Received includes what arrived while draining.
	Delivered uint64  `json:"delivered"`
	Rate      float64 `json:"delivered_per_sec"`
	Received  uint64  `json:"received"`
	// Lost is Expected minus Received (never negative); OutOfOrder counts
	// messages older than one already seen on the same stream.
	Lost       uint64  `json:"lost"`
	OutOfOrder uint64  `json:"out_of_order"`
	Latency    Latency `json:"latency"`
}

// RelayResult is what Relay measured.
type RelayResult struct {
	Broker    string        `json:"broker"`
	Devices   int           `json:"devices"`
	Pages     int           `json:"pages_per_device"`
	Size      int           `json:"size"`
	Mode      string        `json:"mode"` // "closed-loop" or "rate"
	Rate      float64       `json:"rate,omitempty"`
	Window    int           `json:"window,omitempty"`
	PageRate  float64       `json:"page_rate,omitempty"`
	Direction string        `json:"direction"`
	Duration  time.Duration `json:"duration_ns"`
	Down      Direction     `json:"device_to_page"`
	Up        Direction     `json:"page_to_device"`
	CPU       CPU           `json:"cpu"`
	// Other counts messages that were not the benchmark's own (presence
	// events, shadows, errors from the hub); they are skipped.
	Other uint64 `json:"other"`
	// Errors counts connections that failed during the run.
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

func (o RelayOptions) withDefaults() (RelayOptions, error) {
	o.Broker = cmp(o.Broker, "hub")
	o.DeviceURL = strings.TrimSuffix(cmp(o.DeviceURL, "ws://127.0.0.1:7770"), "/")
	o.PageURL = strings.TrimSuffix(cmp(o.PageURL, "ws://127.0.0.1:7771"), "/")
	if o.Broker == "tcp" {
		o.URL = cmp(o.URL, "tcp://127.0.0.1:7000")
	}
	o.URL = cmp(o.URL, "ws://127.0.0.1:8080")
	o.IDPrefix = cmp(o.IDPrefix, "bench-")
	o.Direction = cmp(o.Direction, "both")
	o.Devices = max(o.Devices, 1)
	o.Pages = max(o.Pages, 1)
	if o.Size <= 0 {
		o.Size = 64
	}
	o.Size = max(o.Size, headerSize)
	o.Window = max(o.Window, 1)
	if o.PageRate <= 0 {
		o.PageRate = o.Rate
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Second
	}
	if o.Broker != "hub" && o.Broker != "mqtt" && o.Broker != "tcp" {
		return o, fmt.Errorf("relay broker: got %q, want hub, mqtt or tcp", o.Broker)
	}
	if o.Direction != "both" && o.Direction != "down" && o.Direction != "up" {
		return o, fmt.Errorf("relay direction: got %q, want both, down or up", o.Direction)
	}
	return o, nil
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Relay connects Devices devices and Pages pages per device through a hub
// (or an MQTT broker, or the raw TCP relay), has devices send numbered, timestamped messages to
// their pages and pages to their device for Duration, waits up to Drain
// for stragglers, and reports delivered messages per second each way,
// latency percentiles, and every message lost or out of order.
func Relay(ctx context.Context, o RelayOptions) (RelayResult, error) {
	o, err := o.withDefaults()
	if err != nil {
		return RelayResult{}, err
	}
	if _, err := cpuTime(o.PID); err != nil {
		return RelayResult{}, err
	}
	tr := newTransport(o)
	r := &relayRun{o: o}
	if err := r.connect(ctx, tr); err != nil {
		return RelayResult{}, err
	}
	return r.run(ctx), nil
}
