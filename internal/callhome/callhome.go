// Package callhome is the device's reconnecting WebSocket client to its hub
// ("home"): it dials ws://home/<iam> (or wss:// with a CA, a client
// certificate and a bearer token), hands each live connection to a serve
// function (the command API), and when the link ends dials again with
// jittered exponential backoff, reset after a stable connection.
//
// The device offers the hub page identity (RunAPI, package pagetag) and
// needs nothing of it: a home that does not grant it gets the seed's wire.
//
// Keepalive pings run on every connection, so a dead link is noticed within
// two ping intervals. Each change of state (connected, lost, unreachable) is
// logged once; while home stays unreachable for the same reason, a "still
// trying" line comes only at attempts 4, 8, 16, ..., never one per retry;
// a new reason is logged at once. An untrusted certificate is explained.
package callhome

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"tether/internal/backoff"
	"tether/internal/cmdapi"
	"tether/internal/pagetag"
	"tether/internal/wsconn"
)

// Options configure Run. Only URL is required; the zero value of every
// other field works.
type Options struct {
	// URL is the hub's device endpoint for this device,
	// "ws://hub:7770/Device_1" or "wss://...".
	URL string
	// Header is sent with every handshake (Authorization: Bearer ...).
	Header http.Header
	// TLS is used for wss:// URLs; nil means the system's roots.
	TLS *tls.Config
	// Subprotocols are offered to home with every handshake; home may
	// grant one (wsconn.Conn.Subprotocol) or none. RunAPI offers page
	// identity (package pagetag).
	Subprotocols []string
	// ReadLimit is the largest message accepted from home; zero means
	// 64 KiB, the command API's limit.
	ReadLimit int64
	// PingInterval is the keepalive interval; zero means 20 s. A dead link
	// is detected within two intervals.
	PingInterval time.Duration
	// DialTimeout bounds one connection attempt; zero means 15 s.
	DialTimeout time.Duration
	// MinDelay and MaxDelay bound the delay between attempts, which
	// doubles with ±20% jitter; zero means 1 s and 60 s.
	MinDelay, MaxDelay time.Duration
	// Stable is how long a connection must last for the delay to start
	// again from MinDelay; zero means 30 s.
	Stable time.Duration
	// Grace is how long, once ctx ends, the serve function has to close
	// the connection (1001) before it is dropped; zero means 2 s.
	Grace time.Duration
	// Logger receives the state changes; nil discards them.
	Logger *slog.Logger
	// Report, when not nil, is told of every change of the link: nil when
	// a connection is up, and why when an attempt failed or a connection
	// ended. It must not block.
	Report func(err error)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, 20*time.Second)
	def(&o.DialTimeout, 15*time.Second)
	def(&o.MinDelay, time.Second)
	def(&o.MaxDelay, 60*time.Second)
	def(&o.Stable, 30*time.Second)
	def(&o.Grace, 2*time.Second)
	if o.ReadLimit <= 0 {
		o.ReadLimit = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Report == nil {
		o.Report = func(error) {}
	}
	return o
}

// Serve serves one connection until it ends or ctx ends; it must keep
// reading the connection (pings are answered only while it reads). A
// cmdapi.Server's Serve fits.
type Serve func(ctx context.Context, c *wsconn.Conn) error

// Run calls home until ctx ends, serving each connection with serve, and
// returns nil then. It returns an error at once only when opts has no URL.
func Run(ctx context.Context, opts Options, serve Serve) error {
	if opts.URL == "" {
		return errors.New("call home: no URL")
	}
	r := &runner{opts: opts.withDefaults(), serve: serve}
	r.log = r.opts.Logger.With("component", "callhome", "url", opts.URL)
	return r.run(ctx)
}

// RunAPI calls home as Run does and serves api on each connection. It
// offers page identity (pagetag.Subprotocol): when home grants it (a hub
// that tags its pages), api serves the link with ServeLink, each of the
// hub's pages a client of its own; otherwise (a hub of an older release,
// a home of the seed's kind) with Serve, the link one client, the seed's
// wire unchanged.
func RunAPI(ctx context.Context, opts Options, api *cmdapi.Server) error {
	opts.Subprotocols = append(slices.Clip(opts.Subprotocols), pagetag.Subprotocol)
	return Run(ctx, opts, func(ctx context.Context, c *wsconn.Conn) error {
		if c.Subprotocol() == pagetag.Subprotocol {
			return api.ServeLink(ctx, c)
		}
		return api.Serve(ctx, c)
	})
}

type runner struct {
	opts  Options
	serve Serve
	log   *slog.Logger
	b     backoff.Backoff
	fails int    // failed attempts since the last connection
	why   string // why the last attempt failed
}

func (r *runner) run(ctx context.Context) error {
	r.b = backoff.Backoff{Min: r.opts.MinDelay, Max: r.opts.MaxDelay}
	r.log.Info("calling home")
	for ctx.Err() == nil {
		c, err := r.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.failed(err)
		} else {
			r.connected(ctx, c)
		}
		if r.b.Wait(ctx) != nil {
			break
		}
	}
	r.log.Info("stopped calling home")
	return nil
}

func (r *runner) dial(ctx context.Context) (*wsconn.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, r.opts.DialTimeout)
	defer cancel()
	return wsconn.Dial(dctx, r.opts.URL, wsconn.DialOptions{
		Options:      wsconn.Options{ReadLimit: r.opts.ReadLimit},
		Header:       r.opts.Header,
		TLS:          r.opts.TLS,
		Subprotocols: r.opts.Subprotocols,
	})
}

// failed logs a failed attempt: the first after a connection (or at start)
// and one that fails for another reason than the attempt before (the hub
// is back, but with a certificate the device does not trust) as a
// warning, else only at attempts 4, 8, 16, ...
func (r *runner) failed(err error) {
	err = explain(err)
	r.opts.Report(fmt.Errorf("home unreachable: %w", err))
	r.fails++
	why := err.Error()
	switch {
	case r.fails == 1 || why != r.why:
		r.log.Warn("home unreachable, will keep trying", "err", err)
	case r.fails&(r.fails-1) == 0 && r.fails >= 4:
		r.log.Info("home still unreachable, still trying", "attempt", r.fails, "err", err)
	}
	r.why = why
}

// explain says what a failed attempt means where the error alone does
// not: a certificate from a CA the device does not trust for home is not
// its hub (an enrolled device trusts the CA of the hub it enrolled with
// and no other).
func explain(err error) error {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return fmt.Errorf("home's certificate is not signed by the CA the device trusts for it (home.ca: after an enrollment, the CA of the hub it enrolled with): "+
			"not its hub, or the hub's certificate was replaced by one of another CA: %w", err)
	}
	return err
}

// connected serves c until it ends, then logs why and picks the next delay.
func (r *runner) connected(ctx context.Context, c *wsconn.Conn) {
	r.log.Info("connected to home", "after_attempts", r.fails+1)
	r.opts.Report(nil)
	r.fails = 0
	start := time.Now()
	err := r.session(ctx, c)
	up := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil {
		r.opts.Report(errors.New("stopped calling home"))
		return
	}
	r.opts.Report(fmt.Errorf("lost home connection: %w", err))
	if up >= r.opts.Stable {
		r.b.Reset()
	}
	r.log.Warn("lost home connection, will reconnect", "err", err, "code", wsconn.CloseStatus(err), "up", up.String())
}

// session runs serve with the keepalive beside it on c until either ends.
// When ctx ends, serve gets Grace to close the connection before it is
// dropped.
func (r *runner) session(ctx context.Context, c *wsconn.Conn) error {
	var (
		mu     sync.Mutex
		hard   *time.Timer
		served = make(chan struct{})
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-served:
		default:
			hard = time.AfterFunc(r.opts.Grace, func() { c.CloseNow() })
		}
	})
	defer func() {
		stop()
		mu.Lock()
		if hard != nil {
			hard.Stop()
		}
		mu.Unlock()
	}()
	err := c.WithKeepalive(ctx, r.opts.PingInterval, func() error {
		err := r.serve(ctx, c)
		mu.Lock()
		close(served)
		mu.Unlock()
		return err
	})
	c.CloseNow() // a no-op after a completed close
	switch {
	case errors.Is(err, wsconn.ErrNoPong):
		return err
	case err == nil:
		err = errors.New("serve returned")
	}
	return fmt.Errorf("serve home connection: %w", err)
}
