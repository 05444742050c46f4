// Package natsbroker is the hub's broker.Broker across hub processes: page
// and device messages, presence and shadows travel over NATS subjects named
// per device id (see subject.go and docs/NATS.md), so several hubs behind a
// load balancer act as one.
//
// Local delivery never depends on NATS: a message between a device and
// pages on the same hub goes straight to the Handler, and NATS carries only
// what other hubs need (the connection does not echo our own messages back).
// When the NATS connection drops, the hub keeps serving its own devices and
// pages, tells pages of devices on other hubs that they are unreachable, and
// nats.go reconnects on its own; once back, the hub re-announces what it
// holds and asks the others for theirs.
//
// Every NATS delivery is handed to the Handler (which queues and never
// blocks) from one of two goroutines of the Broker's own, fed by bounded
// channel subscriptions: a full channel drops messages (counted as slow
// consumer events) rather than stall the NATS connection.
//
// Ordering: a device's messages from one hub reach another hub in order,
// and presence events are applied in the order they came with the
// messages. Presence is eventually consistent: a missed event is noticed at
// the next heartbeat, and a snapshot from its hub repairs it.
package natsbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"tether/internal/hub/broker"
)

// Options configure a Broker. Hub and URL are required; the other zero
// values work.
type Options struct {
	// URL is the NATS server URL, or several separated by commas
	// ("nats://a:4222,nats://b:4222"); user:password@ or a token in the URL
	// are used.
	URL string
	// Hub is this hub's name, as in broker.Presence.Hub; every hub of a
	// cluster needs its own.
	Hub string
	// Creds is a NATS credentials file (JWT and NKey seed); "" means none.
	Creds string
	// TLSCA is a PEM file of CAs to verify the NATS server with (tls://
	// URLs); "" means the system roots.
	TLSCA string
	// Prefix starts every subject; "" means "tether".
	Prefix string
	// Heartbeat is how often this hub tells the others it is alive; a hub
	// not heard from in three beats is forgotten with its devices. Zero
	// means 2 s.
	Heartbeat time.Duration
	// RequestTimeout bounds asking another hub for a device's shadow.
	// Zero means 500 ms.
	RequestTimeout time.Duration
	// ReconnectWait is the pause between reconnect attempts, plus a random
	// jitter of up to as much again. Zero means 1 s.
	ReconnectWait time.Duration
	// Pending bounds the NATS messages waiting for delivery to the Handler;
	// past it, messages are dropped and counted. Zero means 8192.
	Pending int
	// Logger is where the broker logs; nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "tether"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 500 * time.Millisecond
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = time.Second
	}
	if o.Pending <= 0 {
		o.Pending = 8192
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Broker is the NATS broker.Broker. Create it with New.
type Broker struct {
	opts Options
	log  *slog.Logger
	subj subjects
	inst string // this process's instance id

	nc      *nats.Conn
	h       broker.Handler
	data    chan *nats.Msg // messages of devices and pages, presence events
	ctl     chan *nats.Msg // heartbeats, snapshots
	changed chan struct{}  // the connection's state changed (capacity 1)
	// reconnects is the NATS reconnect count the control loop last saw.
	reconnects uint64
	quit       chan struct{}
	wg         sync.WaitGroup
	close      sync.Once

	mu      sync.RWMutex
	tab     *table
	seq     uint64                        // presence events published
	holdSub map[string]*nats.Subscription // P.dev.<id>.in.* of devices held here
	watch   map[string]*watched           // P.dev.<id>.out.* of devices with pages here
	closed  bool

	slow        atomic.Uint64 // slow consumer events
	lastSlowLog atomic.Int64
	drops       atomic.Uint64 // page messages from other hubs the device could not take
	lastDropLog atomic.Int64
}

type watched struct {
	n   int
	sub *nats.Subscription
}

var _ broker.Broker = (*Broker)(nil)

// ErrUnreachable wraps ToDevice's answer for a device not held here while
// this hub's NATS connection is down.
var ErrUnreachable = errors.New("this hub's NATS connection is down")

// New returns a Broker; it connects in Start.
func New(opts Options) *Broker {
	o := opts.withDefaults()
	return &Broker{
		opts:    o,
		log:     o.Logger.With("component", "natsbroker", "hub", o.Hub),
		subj:    newSubjects(o.Prefix),
		inst:    nuid.Next(),
		data:    make(chan *nats.Msg, o.Pending),
		ctl:     make(chan *nats.Msg, o.Pending),
		changed: make(chan struct{}, 1),
		quit:    make(chan struct{}),
		tab:     newTable(),
		holdSub: map[string]*nats.Subscription{},
		watch:   map[string]*watched{},
	}
}

// Start implements broker.Broker: it connects to NATS (retrying in the
// background when no server answers yet), subscribes and announces itself.
func (b *Broker) Start(h broker.Handler) error {
	if b.opts.URL == "" || b.opts.Hub == "" {
		return fmt.Errorf("start NATS broker: URL %q and hub name %q: want both set", b.opts.URL, b.opts.Hub)
	}
	b.h = h
	nc, err := nats.Connect(b.opts.URL, b.natsOptions()...)
	if err != nil {
		return fmt.Errorf("connect to NATS %s: %w", b.opts.URL, err)
	}
	b.nc = nc
	if err := b.subscribe(); err != nil {
		nc.Close()
		return err
	}
	if !nc.IsConnected() {
		b.log.Warn("NATS not reachable yet; serving local devices and retrying", "url", b.opts.URL)
	}
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.dataLoop() }()
	go func() { defer b.wg.Done(); b.controlLoop() }()
	b.notify()
	return nil
}

func (b *Broker) natsOptions() []nats.Option {
	o := []nats.Option{
		nats.Name("tether hub " + b.opts.Hub),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(b.opts.ReconnectWait),
		nats.ReconnectJitter(b.opts.ReconnectWait, b.opts.ReconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1), // fail publishes while down instead of replaying stale ones
		// A NATS server that stops reading blocks a publish for at most
		// this long before the connection counts as lost.
		nats.FlusherTimeout(2 * time.Second),
		nats.PingInterval(b.opts.Heartbeat * 5),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("NATS connection lost; serving local devices, reconnecting", "err", err)
			b.notify()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("NATS connection back", "url", nc.ConnectedUrlRedacted())
			b.notify()
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.log.Info("connected to NATS", "url", nc.ConnectedUrlRedacted(), "instance", b.inst)
			b.notify()
		}),
		nats.ErrorHandler(b.asyncError),
	}
	if b.opts.Creds != "" {
		o = append(o, nats.UserCredentials(b.opts.Creds))
	}
	if b.opts.TLSCA != "" {
		o = append(o, nats.RootCAs(b.opts.TLSCA))
	}
	return o
}

// asyncError counts slow consumer drops and logs them at most every 10 s.
func (b *Broker) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return
	}
	if !errors.Is(err, nats.ErrSlowConsumer) {
		b.log.Warn("NATS error", "err", err)
		return
	}
	n := b.slow.Add(1)
	now := time.Now().UnixNano()
	last := b.lastSlowLog.Load()
	if now-last > int64(10*time.Second) && b.lastSlowLog.CompareAndSwap(last, now) {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		b.log.Warn("NATS messages dropped: hub too slow to take them", "subject", subject, "slow_consumer_events", n)
	}
}

// SlowConsumers counts the times NATS messages were dropped because the
// broker's pending queue was full.
func (b *Broker) SlowConsumers() uint64 { return b.slow.Load() }

// Instance is this broker's instance id in subjects.
func (b *Broker) Instance() string { return b.inst }

// notify wakes the control loop to look at the connection's state.
func (b *Broker) notify() {
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

// subscribe makes the subscriptions every hub has.
func (b *Broker) subscribe() error {
	// Events go with the messages, so that a hub sees another start
	// watching a device before that hub's pages' messages for it.
	if _, err := b.nc.ChanSubscribe(b.subj.presence(), b.data); err != nil {
		return fmt.Errorf("subscribe to %s: %w", b.subj.presence(), err)
	}
	for _, s := range []string{b.subj.hubs(), b.subj.hub(b.inst, "snap"), b.subj.hub(b.inst, "sync")} {
		if _, err := b.nc.ChanSubscribe(s, b.ctl); err != nil {
			return fmt.Errorf("subscribe to %s: %w", s, err)
		}
	}
	sub, err := b.nc.Subscribe(b.subj.hub(b.inst, "shadow"), func(m *nats.Msg) {
		m.Respond(b.h.Shadow(string(m.Data)))
	})
	if err != nil {
		return fmt.Errorf("subscribe to shadow requests: %w", err)
	}
	return sub.SetPendingLimits(1024, 1<<20) // requests time out after 500 ms anyway
}

// Close implements broker.Broker: it says goodbye to the other hubs and
// closes the NATS connection; it is idempotent.
func (b *Broker) Close() error {
	b.close.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.quit)
		b.wg.Wait()
		if b.nc == nil {
			return
		}
		if b.nc.IsConnected() {
			b.publishHub(hubMsg{Kind: "bye"}, "")
			b.nc.FlushTimeout(time.Second)
		}
		b.nc.Close()
	})
	return nil
}

// connected reports whether NATS is up now.
func (b *Broker) connected() bool { return b.nc != nil && b.nc.IsConnected() }

// reasonUnreachable is why pages lose a device of another hub.
func reasonUnreachable(hub, why string) string {
	if hub == "" {
		return "hub unreachable: " + why
	}
	return "hub " + hub + " unreachable: " + why
}
