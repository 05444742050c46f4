// Package hub is tether's hub: the server devices call home to. It relays
// WebSocket messages between each device (device endpoint, ws://hub:7770/<id>)
// and the pages of that device (page endpoint, ws://hub:7771/<id>), tells
// pages when their device comes and goes, keeps a shadow of each device's
// state, logs relayed messages, and serves a dashboard, a JSON API and
// Prometheus metrics on the page port. Auth (tokens, client certificates),
// Origin checks and TLS make it safe on a public address.
//
// Routing goes through a broker.Broker (in-process by default), the
// WebSocket layer through hubws; every connection has a bounded send queue,
// so a slow page never delays its device or the other pages.
package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/certs"
	"tether/internal/enroll"
	"tether/internal/hub/audit"
	"tether/internal/hub/broker"
	"tether/internal/hub/broker/mem"
	"tether/internal/hub/hubws"
	"tether/internal/hub/rollout"
	"tether/internal/login"
	"tether/internal/ratelog"
	"tether/internal/relaylog"
	"tether/internal/ticks"
)

// Options configure a Hub; the zero value works (an open hub with no
// message log, in-process routing, no TLS).
type Options struct {
	// Name names this hub process in presence and /api/devices; "" means
	// the host name and process id.
	Name string
	// MaxMessage is the largest message accepted, in bytes; bigger ones
	// close the connection with 1009. Zero means 64 KiB.
	MaxMessage int
	// Queue is how many messages may wait for one connection; a page that
	// lets it fill is closed as a slow consumer. Zero means 4096.
	Queue int
	// QueueBytes bounds the bytes waiting for one connection (a message
	// queued for several pages counts for each, though it is held once).
	// Zero means 16 MiB.
	QueueBytes int
	// ReadBuffer is the read buffer of each TLS connection in bytes, held
	// for the connection's life (plain connections are read by the event
	// loops into one buffer per loop and hold none). Bigger buffers read
	// more small messages per system call. Zero means 4 KiB.
	ReadBuffer int
	// Ping is the keepalive interval: the hub pings every connection this
	// often and closes one it has not heard from in three intervals. Zero
	// means 20 s.
	Ping time.Duration
	// ShadowKeys and ShadowBytes bound what the hub keeps of one device's
	// state (its shadow): keys past them are not kept. Zero means 1,024
	// keys and 64 KiB; the bytes are never more than a page may be sent in
	// one message (MaxMessage), since a page gets the shadow as one.
	ShadowKeys  int
	ShadowBytes int
	// OfflineDevices and OfflineBytes bound what the hub remembers of
	// devices that went offline (their records and shadows): past either,
	// those gone longest are forgotten. Zero means 10,000 devices and
	// 64 MiB of shadows.
	OfflineDevices int
	OfflineBytes   int
	// DeviceConnsPerAddr and PageConnsPerAddr bound the WebSocket
	// connections (open, or being upgraded) one client address may hold
	// on the device and the page port; past them an upgrade gets 429.
	// Zero means no bound (tether hub's flags default to 4096 and 1024).
	DeviceConnsPerAddr int
	PageConnsPerAddr   int
	// WriteTimeout bounds each batch of writes to one connection; a peer
	// that does not take its data in time is closed. Zero means 10 s.
	WriteTimeout time.Duration
	// Auth holds the accepted credentials; nil means an open hub (logged
	// loudly, shown on the dashboard).
	Auth *Auth
	// AuthFile, when set, is the file Auth was read from (Serve reads it
	// when Auth is nil): the hub reads it again whenever it changes, and
	// on ReloadAuth, without dropping connections but those of credentials
	// it no longer holds.
	AuthFile string
	// TLS, when set, serves wss/https on both ports.
	TLS *tls.Config
	// ClientCAs, when set with TLS, requires device client certificates
	// signed by it whose common name is the device id.
	ClientCAs *x509.CertPool
	// EnrollCA, when set with TLS, turns enrollment on: operators make
	// one-time codes (POST /api/enroll), devices send a certificate request
	// with one (POST /enroll on the device port) and get a client
	// certificate signed by it, which is then their credential.
	EnrollCA *certs.Pair
	// EnrollFile records the enrolled devices' certificates (only the one
	// recorded for an id is accepted; taking it out revokes it); read
	// again when it changes. Needed with EnrollCA.
	EnrollFile string
	// EnrollURL is the device endpoint codes name ("wss://hub.example:7770");
	// "" means wss:// on the host name a code was asked for and the
	// device port.
	EnrollURL string
	// OriginPatterns are extra browser origins (host patterns, path.Match
	// syntax, e.g. "*.example.com") allowed on the page port besides the
	// page port's own.
	OriginPatterns []string
	// RelayLog, when set, receives every relayed message.
	RelayLog *relaylog.Log
	// Audit, when set, records every administrative action: admin items
	// pages send (allowed or refused), every refused message, forgetting
	// a device, enrollment.
	Audit *audit.Log
	// Logger is where the hub logs; nil means slog.Default().
	Logger *slog.Logger
	// Broker routes messages and presence; nil means in-process (broker/mem).
	Broker broker.Broker
	// Upgrader is the WebSocket layer; nil means hubws.NewUpgrader, the
	// only one. It is an option so that tests can wrap that engine (to
	// plant panics in it, say).
	Upgrader hubws.Upgrader
	// ShutdownTimeout bounds closing connections on shutdown. Zero means 4 s.
	ShutdownTimeout time.Duration
	// UpdateDir, when set, is where the hub keeps artifacts and rollouts
	// (package rollout): the rollout API, the dashboard's rollouts and
	// devices' downloads are served. "" keeps no updates.
	UpdateDir string
	// ArtifactDir is where artifacts are kept; "" means UpdateDir/artifacts
	// (rollout.Options.ArtifactDir: hubs of a cluster may share it).
	ArtifactDir string
	// MaxArtifact bounds an uploaded artifact; zero means 512 MiB.
	MaxArtifact int64
	// RolloutInterval is how often running rollouts are looked at; zero
	// means 1 s.
	RolloutInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = hubws.DefaultMaxMessage
	}
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 16 << 20
	}
	if o.ShadowKeys <= 0 {
		o.ShadowKeys = 1024
	}
	if o.ShadowBytes <= 0 {
		o.ShadowBytes = 64 << 10
	}
	o.ShadowBytes = max(0, min(o.ShadowBytes, o.MaxMessage-replayRoom))
	if o.OfflineDevices <= 0 {
		o.OfflineDevices = 10000
	}
	if o.OfflineBytes <= 0 {
		o.OfflineBytes = 64 << 20
	}
	if o.Ping <= 0 {
		o.Ping = 20 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Broker == nil {
		o.Broker = mem.New()
	}
	if o.Upgrader == nil {
		o.Upgrader = hubws.NewUpgrader(hubws.Options{MaxMessage: o.MaxMessage, ReadBuffer: o.ReadBuffer})
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 4 * time.Second
	}
	o.OriginPatterns = append([]string(nil), o.OriginPatterns...)
	return o
}

// Hub relays between devices and pages. Create it with New, run it with Serve.
type Hub struct {
	opts     Options
	log      *slog.Logger
	broker   broker.Broker
	metrics  *metrics
	wg       sync.WaitGroup // handlers upgrading, readers and writers of every connection
	enterMu  sync.Mutex     // orders enter's wg.Add before shutdown's wg.Wait
	closed   bool           // under enterMu: no new connection may enter
	nextConn atomic.Uint64
	stopping atomic.Bool
	started  time.Time
	authCfg  atomic.Pointer[authConfig] // nil: an open hub
	reloadMu sync.Mutex                 // one reload at a time
	codes    *enroll.Codes
	// per-address bounds of the device and the page port
	devLimit, pageLimit *connLimit
	enrolled            *enrolledSet
	sessions            *login.Sessions[credRef]
	throttle            *login.Throttle
	devPort             atomic.Int32 // the device endpoint's port, once Serve has it
	warnings            *ratelog.Log // refusals and slow consumers, rate-limited
	panicLog            *ratelog.Log // recovered panics, rate-limited
	panics              atomic.Uint64

	presenceMu sync.Mutex // orders device arrivals and departures

	pagePrefix   string // page ids start with it (newPagePrefix)
	shadowLimits shadowLimits
	rollouts     *rollout.Manager // nil without Options.UpdateDir

	mu           sync.RWMutex
	devices      map[string]*peer   // devices held here, by id
	pages        map[string][]*peer // pages by device id, copy-on-write
	records      map[string]*record // devices seen here, online or not
	offlineBytes int                // shadow bytes of the offline records
}

// New returns a Hub configured by opts (copied; the caller's struct is not
// changed).
func New(opts Options) *Hub {
	o := opts.withDefaults()
	h := &Hub{
		opts:      o,
		log:       o.Logger.With("component", "hub"),
		broker:    o.Broker,
		metrics:   newMetrics(o.RelayLog, o.Audit),
		started:   time.Now(),
		sessions:  newSessions(),
		codes:     enroll.NewCodes(),
		devLimit:  newConnLimit(o.DeviceConnsPerAddr, "--device-conns-per-addr"),
		pageLimit: newConnLimit(o.PageConnsPerAddr, "--page-conns-per-addr"),
		throttle:  newThrottle(),
		warnings:  ratelog.New(o.Logger.With("component", "hub")),
		panicLog:  ratelog.New(o.Logger.With("component", "hub")),
		devices:   map[string]*peer{},
		pages:     map[string][]*peer{},
		records:   map[string]*record{},
	}
	h.shadowLimits = shadowLimits{keys: o.ShadowKeys, bytes: o.ShadowBytes}
	h.pagePrefix = newPagePrefix(o.Name)
	if o.Auth != nil {
		h.authCfg.Store(newAuthConfig(o.Auth))
	}
	return h
}

// Name is the hub's name in presence.
func (h *Hub) Name() string { return h.opts.Name }

// Serve serves devices on deviceLn and pages on pageLn until ctx ends, then
// closes every connection with 1001 and returns within Options.ShutdownTimeout
// plus a second. It returns nil after a shutdown asked for by ctx.
func (h *Hub) Serve(ctx context.Context, deviceLn, pageLn net.Listener) error {
	watch := h.watchList()
	if h.opts.AuthFile != "" && h.auth() == nil {
		a, err := LoadAuth(h.opts.AuthFile)
		if err != nil {
			return err
		}
		h.authCfg.Store(newAuthConfig(a))
	}
	if h.opts.EnrollCA != nil {
		if h.opts.TLS == nil || h.opts.EnrollFile == "" {
			return errors.New("serve hub: enrollment needs TLS and a file to record enrolled devices in")
		}
		e, err := loadEnrolled(h.opts.EnrollFile)
		if err != nil {
			return err
		}
		h.enrolled = e
	}
	if err := h.openRollouts(); err != nil {
		return fmt.Errorf("open updates: %w", err)
	}
	if err := h.broker.Start(brokerHandler{h}); err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	devSrv := h.httpServer(h.deviceHandler())
	pageSrv := h.httpServer(h.pageHandler())
	deviceLn, pageLn = h.wrapTLS(deviceLn, true), h.wrapTLS(pageLn, false)
	if a, ok := deviceLn.Addr().(*net.TCPAddr); ok {
		h.devPort.Store(int32(a.Port))
	}
	scheme := "ws"
	if h.opts.TLS != nil {
		scheme = "wss"
	}
	h.log.Info("hub listening", "devices", scheme+"://"+deviceLn.Addr().String()+"/<id>",
		"pages", scheme+"://"+pageLn.Addr().String()+"/<id>",
		"dashboard", httpScheme(scheme)+"://"+pageLn.Addr().String()+"/")
	h.warnAuth(h.auth())
	errc := make(chan error, 2)
	go func() { errc <- serveHTTP(devSrv, deviceLn, "device") }()
	go func() { errc <- serveHTTP(pageSrv, pageLn, "page") }()
	keepCtx, stopKeep := context.WithCancel(context.Background())
	keepDone := make(chan struct{})
	go func() { defer close(keepDone); h.keepalive(keepCtx) }()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		h.watchFiles(keepCtx, watch)
	}()
	rollDone := make(chan struct{})
	go func() {
		defer close(rollDone)
		if h.rollouts != nil {
			h.rollouts.Run(keepCtx)
		}
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopKeep()
	<-keepDone
	<-watchDone
	<-rollDone
	if serr := h.shutdown(devSrv, pageSrv); err == nil {
		err = serr
	}
	return err
}

func httpScheme(ws string) string {
	if ws == "wss" {
		return "https"
	}
	return "http"
}

func serveHTTP(srv *http.Server, ln net.Listener, which string) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s port: %w", which, err)
	}
	return nil
}

func (h *Hub) httpServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
}

// shutdown stops accepting, closes every connection with 1001 and waits
// for their goroutines, within the shutdown timeout.
func (h *Hub) shutdown(servers ...*http.Server) error {
	h.stopping.Store(true)
	h.enterMu.Lock()
	h.closed = true
	h.enterMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range servers {
		if s.Shutdown(ctx) != nil {
			s.Close()
		}
	}
	peers := h.allPeers()
	h.log.Info("hub shutting down", "connections", len(peers))
	for _, p := range peers {
		p.kill(hubws.CodeGoingAway, "hub shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(h.opts.ShutdownTimeout):
		err = fmt.Errorf("shut down hub: %d connections still open after %v", len(h.allPeers()), h.opts.ShutdownTimeout)
	}
	h.broker.Close()
	return err
}

// allPeers returns every device and page connection.
func (h *Hub) allPeers() []*peer {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*peer, 0, len(h.devices)+len(h.pages))
	for _, p := range h.devices {
		out = append(out, p)
	}
	for _, ps := range h.pages {
		out = append(out, ps...)
	}
	return out
}

// keepalive pings every connection each interval and closes the ones not
// heard from in three intervals.
func (h *Hub) keepalive(ctx context.Context) {
	for now := range ticks.Every(ctx, h.opts.Ping) {
		cutoff := now.Add(-3 * h.opts.Ping).UnixNano()
		for _, p := range h.allPeers() {
			if p.lastSeen.Load() < cutoff {
				h.metrics.keepaliveCloses.Inc()
				p.kill(hubws.CodeGoingAway, "keepalive timeout")
				continue
			}
			p.send(item{kind: itemPing})
		}
	}
}

// enter counts a connection about to be upgraded in h.wg, so that shutdown
// waits for it; it reports false once the hub is shutting down. The count
// passes to the connection's reader, or is given back with h.wg.Done.
func (h *Hub) enter() bool {
	h.enterMu.Lock()
	defer h.enterMu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// run starts delivering p's events on the count enter took (given back
// after its OnClose), and closes p at once if the hub began shutting down
// while it was being added.
func (h *Hub) run(p *peer) {
	p.conn.Start(h.wg.Done)
	if h.stopping.Load() {
		p.kill(hubws.CodeGoingAway, "hub shutting down")
	}
}
