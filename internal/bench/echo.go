package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// EchoOptions configure Echo. The zero value needs only URL.
type EchoOptions struct {
	// URL is the echo server: ws:// or wss:// for WebSocket (each round trip
	// one binary message), tcp://HOST:PORT for a raw TCP echo (Size bytes
	// written, the same Size bytes read back).
	URL string
	// Clients is the number of connections, each running its own closed
	// loop; default 1.
	Clients int
	// Size is the message size in bytes; default 64, at least 8 (the first
	// eight bytes number each round trip so a stale reply is caught).
	Size int
	// Duration is how long round trips are counted; default 10 s.
	Duration time.Duration
	// Header is sent with each WebSocket handshake (e.g. a bearer token).
	Header http.Header
	// Progress, when set, gets a line every Interval (default 1 s).
	Progress Progress
	Interval time.Duration
}

// EchoResult is what Echo measured.
type EchoResult struct {
	URL        string        `json:"url"`
	Transport  string        `json:"transport"` // "websocket" or "tcp"
	Clients    int           `json:"clients"`
	Size       int           `json:"size"`
	Duration   time.Duration `json:"duration_ns"`
	RoundTrips uint64        `json:"round_trips"`
	Rate       float64       `json:"round_trips_per_sec"`
	Latency    Latency       `json:"latency"`
	// Errors counts clients that failed during the run (the first error is
	// in FirstError); their completed round trips still count.
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

func (o EchoOptions) withDefaults() EchoOptions {
	if o.Clients <= 0 {
		o.Clients = 1
	}
	if o.Size <= 0 {
		o.Size = 64
	}
	o.Size = max(o.Size, 8)
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	return o
}

// echoConn is one closed-loop client: roundTrip sends p and reads the echo
// into a buffer of the same size.
type echoConn interface {
	roundTrip(p []byte) ([]byte, error)
	Close()
}

// Echo connects Clients clients to the echo server, then for Duration each
// sends a message, waits for its echo and sends the next, recording every
// round trip's latency.
func Echo(ctx context.Context, o EchoOptions) (EchoResult, error) {
	o = o.withDefaults()
	u, err := url.Parse(o.URL)
	if err != nil {
		return EchoResult{}, fmt.Errorf("parse url %q: %w", o.URL, err)
	}
	res := EchoResult{URL: o.URL, Clients: o.Clients, Size: o.Size}
	var dial func(context.Context, int) (echoConn, error)
	switch u.Scheme {
	case "ws", "wss":
		res.Transport = "websocket"
		dial = func(ctx context.Context, _ int) (echoConn, error) {
			c, err := dialWS(ctx, o.URL, o.Header, int64(o.Size)+1024)
			return wsEcho{c}, err
		}
	case "tcp":
		res.Transport = "tcp"
		dial = func(ctx context.Context, _ int) (echoConn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return nil, fmt.Errorf("dial %s: %w", u.Host, err)
			}
			return &tcpEcho{c: c, buf: make([]byte, o.Size)}, nil
		}
	default:
		return res, fmt.Errorf("parse url %q: got scheme %q, want ws, wss or tcp", o.URL, u.Scheme)
	}
	conns, err := dialAll(ctx, o.Clients, dial)
	if err != nil {
		return res, err
	}
	return runEcho(ctx, o, conns, res), nil
}

// dialAll opens n connections (dial gets each one's index), a few at a
// time; on any failure it closes
// those it opened.
func dialAll[C interface{ Close() }](ctx context.Context, n int, dial func(context.Context, int) (C, error)) ([]C, error) {
	conns := make([]C, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range conns {
		g.Go(func() error {
			dctx, cancel := context.WithTimeout(gctx, 10*time.Second)
			defer cancel()
			c, err := dial(dctx, i)
			if err != nil {
				return err
			}
			conns[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, c := range conns {
			if any(c) != nil {
				c.Close()
			}
		}
		return nil, err
	}
	return conns, nil
}

func runEcho(ctx context.Context, o EchoOptions, conns []echoConn, res EchoResult) EchoResult {
	var (
		hist     Histogram
		errs     atomic.Int64
		firstErr sync.Once
	)
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	stopClose := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})
	defer stopClose()
	var m meter
	stopProgress := ticker(ctx, o.Interval, func(el time.Duration) {
		if o.Progress != nil {
			n := hist.Count()
			o.Progress(fmt.Sprintf("echo %s  %d clients  %d round trips  %.0f/s  p50 %v",
				el.Round(100*time.Millisecond), o.Clients, n, m.per(n, el), hist.Quantile(0.5)))
		}
	})
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			err := echoLoop(ctx, c, o.Size, uint64(i)<<40, &hist)
			if err != nil && ctx.Err() == nil {
				errs.Add(1)
				firstErr.Do(func() { res.FirstError = err.Error() })
			}
		})
	}
	<-ctx.Done()
	res.Duration = time.Since(start)
	wg.Wait()
	stopProgress()
	res.Errors = int(errs.Load())
	res.Latency = hist.Summary()
	res.RoundTrips = res.Latency.Samples
	res.Rate = rate(res.RoundTrips, res.Duration)
	return res
}

// echoLoop runs one client's round trips until ctx ends or a reply is
// wrong; seq starts at base so every client's messages differ.
func echoLoop(ctx context.Context, c echoConn, size int, base uint64, hist *Histogram) error {
	msg := bytes.Repeat([]byte{'x'}, size)
	for seq := base; ctx.Err() == nil; seq++ {
		binary.BigEndian.PutUint64(msg, seq)
		t0 := time.Now()
		got, err := c.roundTrip(msg)
		if err != nil {
			return err
		}
		d := time.Since(t0)
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("echo: got %d bytes starting %x, want %d bytes starting %x", len(got), head(got), size, msg[:8])
		}
		if ctx.Err() != nil {
			return nil // finished after the deadline: not counted
		}
		hist.Record(d)
	}
	return nil
}

func head(p []byte) []byte { return p[:min(len(p), 8)] }

type wsEcho struct{ *wsConn }

func (w wsEcho) roundTrip(p []byte) ([]byte, error) {
	if err := w.WriteMsg(p); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	_, got, err := w.ReadMsg()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return got, nil
}

type tcpEcho struct {
	c   net.Conn
	buf []byte
}

func (t *tcpEcho) roundTrip(p []byte) ([]byte, error) {
	if _, err := t.c.Write(p); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(t.c, t.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("echo closed mid-message: %w", err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return t.buf, nil
}

func (t *tcpEcho) Close() { t.c.Close() }
