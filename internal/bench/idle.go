package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/bench/benchws"
	"tether/internal/bench/mqtt"
)

// IdleOptions configure Idle. The zero value opens 1,000 connections to
// ws://127.0.0.1:7770 at 1,000 a second and holds them 10 s.
type IdleOptions struct {
	// URL is the device endpoint, without the id; default ws://127.0.0.1:7770.
	// With Broker "mqtt" it is the broker's WebSocket URL, used as it is.
	URL string
	// Broker is "hub" (default: a WebSocket to URL/<id>) or "mqtt" (a
	// WebSocket with the "mqtt" subprotocol to URL, then an MQTT CONNECT
	// with the id as client id and no keep-alive).
	Broker string
	// Devices is the number of connections; default 1000. Ids are
	// IDPrefix0 …, IDPrefix default "idle-".
	Devices  int
	IDPrefix string
	// PID is the process whose memory is read before and after; 0 skips it.
	PID int
	// Ramp is the connections opened per second; default 1000.
	Ramp float64
	// Hold is how long the connections stay open once all are; default 10 s.
	Hold time.Duration
	// Header is sent with every handshake (e.g. a bearer token).
	Header http.Header
	// State, with Broker "hub", has each connection send one state object
	// once connected, as a device does: its id, app "idle", a version and
	// made-up system information (sys/...) that differs from device to
	// device, so a hub's dashboard and API have something to show and
	// sort. Off, the connections send nothing.
	State bool
	// PerSource is how many connections share one source address when URL's
	// host is an IPv4 loopback address: 127.0.0.1, then 127.0.0.2, …, so
	// that more connections than one address has ephemeral ports can be
	// opened; default 20000.
	PerSource int
	// Progress, when set, gets a line every Interval (default 1 s).
	Progress Progress
	Interval time.Duration
}

// IdleResult is what Idle measured.
type IdleResult struct {
	URL       string        `json:"url"`
	Broker    string        `json:"broker"`
	Devices   int           `json:"devices"`
	Connected int           `json:"connected"`
	Failures  int           `json:"connect_failures"`
	FirstErr  string        `json:"first_error,omitempty"`
	Dropped   int           `json:"dropped_while_held"`
	RampTime  time.Duration `json:"ramp_ns"`
	Hold      time.Duration `json:"hold_ns"`
	PID       int           `json:"pid,omitempty"`
	// RSSBefore is the target's VmRSS before the first connection, RSSAfter
	// at the end of the hold, PerConn their difference per connection held.
	RSSBefore int64   `json:"rss_before_bytes,omitempty"`
	RSSAfter  int64   `json:"rss_after_bytes,omitempty"`
	PerConn   float64 `json:"rss_per_connection_bytes,omitempty"`
	// NoFile is this process's open-file limit during the run.
	NoFile uint64 `json:"nofile_limit"`
}

func (o IdleOptions) withDefaults() IdleOptions {
	o.URL = strings.TrimSuffix(cmp(o.URL, "ws://127.0.0.1:7770"), "/")
	o.IDPrefix = cmp(o.IDPrefix, "idle-")
	o.Broker = cmp(o.Broker, "hub")
	if o.Devices <= 0 {
		o.Devices = 1000
	}
	if o.Ramp <= 0 {
		o.Ramp = 1000
	}
	if o.Hold <= 0 {
		o.Hold = 10 * time.Second
	}
	if o.PerSource <= 0 {
		o.PerSource = 20000
	}
	return o
}

// Idle opens Devices idle device connections at Ramp a second, holds them
// for Hold, and reports connect failures, connections the server dropped,
// and the VmRSS of process PID before and after. It raises the open-file
// limit to the hard limit first; NoFile says what it was.
func Idle(ctx context.Context, o IdleOptions) (IdleResult, error) {
	o = o.withDefaults()
	res := IdleResult{URL: o.URL, Broker: o.Broker, Devices: o.Devices, PID: o.PID, Hold: o.Hold}
	if o.Broker != "hub" && o.Broker != "mqtt" {
		return res, fmt.Errorf("idle broker: got %q, want hub or mqtt", o.Broker)
	}
	nofile, err := RaiseNoFile()
	if err != nil {
		return res, err
	}
	res.NoFile = nofile
	if _, err := url.Parse(o.URL); err != nil {
		return res, fmt.Errorf("parse url %q: %w", o.URL, err)
	}
	if o.PID > 0 {
		if res.RSSBefore, err = RSS(o.PID); err != nil {
			return res, err
		}
	}
	h := &idleRun{o: o}
	t0 := time.Now()
	h.ramp(ctx)
	res.RampTime = time.Since(t0)
	select {
	case <-ctx.Done():
	case <-time.After(o.Hold):
	}
	if o.PID > 0 {
		res.RSSAfter, err = RSS(o.PID)
	}
	held := int(h.connected.Load()) - int(h.dropped.Load())
	h.close()
	res.Connected, res.Failures = int(h.connected.Load()), int(h.failures.Load())
	res.Dropped = int(h.dropped.Load())
	if p := h.firstErr.Load(); p != nil {
		res.FirstErr = *p
	}
	if err != nil {
		return res, err
	}
	if o.PID > 0 && held > 0 {
		res.PerConn = float64(res.RSSAfter-res.RSSBefore) / float64(held)
	}
	return res, nil
}

// idleRun holds one Idle run's connections and counts.
type idleRun struct {
	o                            IdleOptions
	mu                           sync.Mutex
	conns                        []*benchws.Conn
	wg                           sync.WaitGroup // one reader per connection
	connected, failures, dropped atomic.Int64
	closing                      atomic.Bool
	firstErr                     atomic.Pointer[string]
}

// ramp opens the connections at the configured rate, at most 64 dialling
// at once, and returns when every attempt has finished.
func (h *idleRun) ramp(ctx context.Context) {
	var m meter
	stop := ticker(ctx, h.o.Interval, func(el time.Duration) {
		if h.o.Progress != nil {
			n := uint64(h.connected.Load())
			h.o.Progress(fmt.Sprintf("idle %s  %d/%d connected (%.0f/s)  %d failed  %d dropped",
				el.Round(100*time.Millisecond), n, h.o.Devices, m.per(n, el), h.failures.Load(), h.dropped.Load()))
		}
	})
	defer stop()
	sem := make(chan struct{}, 64)
	var dials sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < h.o.Devices && ctx.Err() == nil; i++ {
		if d := time.Duration(float64(i)/h.o.Ramp*float64(time.Second)) - time.Since(t0); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			h.open(ctx, i)
		})
	}
	dials.Wait()
}

// open dials connection i and starts its reader.
func (h *idleRun) open(ctx context.Context, i int) {
	ic, err := h.dial(ctx, i)
	if err != nil {
		h.failures.Add(1)
		s := err.Error()
		h.firstErr.CompareAndSwap(nil, &s)
		return
	}
	h.mu.Lock()
	h.conns = append(h.conns, ic)
	h.mu.Unlock()
	h.connected.Add(1)
	h.wg.Go(func() {
		if ic.ReadLoop(func(bool, []byte) {}); !h.closing.Load() {
			h.dropped.Add(1)
		}
	})
}

func (h *idleRun) dial(ctx context.Context, i int) (*benchws.Conn, error) {
	id := h.o.IDPrefix + strconv.Itoa(i)
	u, _ := url.Parse(h.o.URL + "/" + id)
	sub := ""
	if h.o.Broker == "mqtt" {
		u, _ = url.Parse(h.o.URL)
		sub = "mqtt"
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	// past the first PerSource, bind a further loopback source address
	// (binding costs a port search, so the first ones do not)
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() && ip.To4() != nil && i >= h.o.PerSource {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte(i/h.o.PerSource/250), byte(1+i/h.o.PerSource%250))}
	}
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u.Host, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// a 256-byte read buffer: an idle connection reads pings only
	ic, err := benchws.Handshake(c, u, benchws.Options{Header: h.o.Header, Subprotocol: sub, ReadBuffer: 256})
	switch {
	case err == nil && sub == "mqtt":
		err = ic.WriteMessage(false, mqtt.AppendConnect(nil, id, 0))
	case err == nil && h.o.State:
		err = ic.WriteMessage(true, idleState(id, i))
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect %s: %w", u, err)
	}
	c.SetDeadline(time.Time{})
	return ic, nil
}

// close ends every connection and waits for their readers.
func (h *idleRun) close() {
	h.closing.Store(true)
	h.mu.Lock()
	for _, ic := range h.conns {
		ic.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}
