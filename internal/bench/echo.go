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
	// PID, when set, is the echo server's process, whose CPU use is
	// reported beside the benchmark's own.
	PID int
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
	CPU        CPU           `json:"cpu"`
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

// echoConn is one closed-loop client.
type echoConn interface {
	// run does round trips of size-byte messages, numbered from base, until
	// ctx ends or a reply is wrong, recording each in hist.
	run(ctx context.Context, size int, base uint64, hist *Histogram) error
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
	if _, err := cpuTime(o.PID); err != nil {
		return res, err
	}
	var dial func(context.Context, int) (echoConn, error)
	switch u.Scheme {
	case "ws", "wss":
		res.Transport = "websocket"
		dial = func(ctx context.Context, _ int) (echoConn, error) {
			c, err := dialWS(ctx, o.URL, o.Header, o.Size+1024)
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
			t := &tcpEcho{c: c, buf: make([]byte, o.Size)}
			return pullEcho{t, t.roundTrip}, nil
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
				el.Round(100*time.Millisecond), o.Clients, n, m.per(n, el), hist.Quantile(0.5).Round(time.Microsecond)))
		}
	})
	start, cpu := time.Now(), startCPU(o.PID)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			err := c.run(ctx, o.Size, uint64(i)<<40, &hist)
			if err != nil && ctx.Err() == nil {
				errs.Add(1)
				firstErr.Do(func() { res.FirstError = err.Error() })
			}
		})
	}
	<-ctx.Done()
	res.Duration = time.Since(start)
	res.CPU, _ = cpu.stop() // the target may have gone: its share stays 0
	wg.Wait()
	stopProgress()
	res.Errors = int(errs.Load())
	res.Latency = hist.Summary()
	res.RoundTrips = res.Latency.Samples
	res.Rate = rate(res.RoundTrips, res.Duration)
	return res
}

// pullEcho is a client whose round trip is a call: write, then read.
type pullEcho struct {
	closer
	roundTrip func(p []byte) ([]byte, error)
}

type closer interface{ Close() }

func (e pullEcho) run(ctx context.Context, size int, base uint64, hist *Histogram) error {
	msg := bytes.Repeat([]byte{'x'}, size)
	for seq := base; ctx.Err() == nil; seq++ {
		binary.BigEndian.PutUint64(msg, seq)
		t0 := time.Now()
		got, err := e.roundTrip(msg)
		if err != nil {
			return err
		}
		d := time.Since(t0)
		if err := checkEcho(got, msg); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil // finished after the deadline: not counted
		}
		hist.Record(d)
	}
	return nil
}

func checkEcho(got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("echo: got %d bytes starting %x, want %d bytes starting %x", len(got), head(got), len(want), want[:8])
	}
	return nil
}

func head(p []byte) []byte { return p[:min(len(p), 8)] }

// wsEcho is a client driven by its read loop: each echo that arrives
// sends the next message from the callback.
type wsEcho struct{ wsConn }

func (g wsEcho) run(ctx context.Context, size int, base uint64, hist *Histogram) error {
	msg := bytes.Repeat([]byte{'x'}, size)
	seq, t0 := base, time.Time{}
	send := func() error {
		binary.BigEndian.PutUint64(msg, seq)
		t0 = time.Now()
		if err := g.WriteMsg(msg); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	var failed error
	err := g.ReadLoop(func(_ bool, p []byte) {
		d := time.Since(t0)
		if failed = checkEcho(p, msg); failed != nil || ctx.Err() != nil {
			g.Close()
			return
		}
		hist.Record(d)
		seq++
		if failed = send(); failed != nil {
			g.Close()
		}
	})
	if failed != nil {
		return failed
	}
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
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
