package bench

import (
	"context"
	"fmt"
	"time"
)

// readPage reads page k's messages: its device's stream is checked and
// timed, the hub's presence event makes the page ready, the rest is other.
func (r *relayRun) readPage(k int, c msgConn) error {
	dev := uint32(k / r.o.Pages)
	closed := false
	err := c.ReadLoop(func(text bool, p []byte) {
		now := time.Since(r.start)
		stream, seq, sentAt, ok := parseHeader(p)
		if !ok || text || stream != dev {
			if !closed && text && isConnected(p) {
				close(r.ready[k])
				closed = true
			}
			r.other.Add(1)
			return
		}
		r.downCheck[k].see(seq)
		r.down.Record(now - sentAt)
		r.downRecv.Add(1)
		if r.o.Rate == 0 {
			r.devSend[dev].ack(seq)
		}
	})
	return fmt.Errorf("page %d of %s: read: %w", k%r.o.Pages, r.id(int(dev)), err)
}

// readDevice reads device i's messages: each of its pages' streams is
// checked and timed.
func (r *relayRun) readDevice(i int, c msgConn) error {
	err := c.ReadLoop(func(text bool, p []byte) {
		now := time.Since(r.start)
		stream, seq, sentAt, ok := parseHeader(p)
		j := int(stream &^ upBit)
		if !ok || text || stream&upBit == 0 || j >= r.o.Pages {
			r.other.Add(1)
			return
		}
		k := i*r.o.Pages + j
		r.upCheck[k].see(seq)
		r.up.Record(now - sentAt)
		r.upRecv.Add(1)
		if r.o.PageRate == 0 {
			r.pgSend[k].ack(seq)
		}
	})
	return fmt.Errorf("device %s: read: %w", r.id(i), err)
}

// expected is what should arrive each way given what was sent.
func (r *relayRun) expected() (down, up uint64) {
	for _, s := range r.devSend {
		down += s.sent.Load() * uint64(r.o.Pages)
	}
	for _, s := range r.pgSend {
		up += s.sent.Load()
	}
	return down, up
}

// drain waits up to Drain for everything sent to arrive.
func (r *relayRun) drain(ctx context.Context) {
	down, up := r.expected()
	end := time.Now().Add(r.o.Drain)
	for time.Now().Before(end) && ctx.Err() == nil {
		if r.downRecv.Load() >= down && r.upRecv.Load() >= up {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// result sums the run up once every reader has ended.
func (r *relayRun) result(el time.Duration, downWin, upWin uint64) RelayResult {
	o := r.o
	res := RelayResult{Broker: o.Broker, Devices: o.Devices, Pages: o.Pages, Size: o.Size,
		Mode: "closed-loop", Window: o.Window, Direction: o.Direction, Duration: el}
	if o.Rate > 0 {
		res.Mode, res.Rate, res.PageRate, res.Window = "rate", o.Rate, o.PageRate, 0
	}
	down, up := r.expected()
	res.Down = direction(down, downWin, el, &r.down)
	res.Up = direction(up, upWin, el, &r.up)
	for _, s := range r.devSend {
		res.Down.Sent += s.sent.Load()
	}
	for _, s := range r.pgSend {
		res.Up.Sent += s.sent.Load()
	}
	for k := range r.downCheck {
		res.Down.OutOfOrder += r.downCheck[k].outOfOrder
		res.Up.OutOfOrder += r.upCheck[k].outOfOrder
	}
	res.Other = r.other.Load()
	res.CPU = r.cpu
	if n := downWin + upWin; n > 0 && res.CPU.PID > 0 {
		res.CPU.PerMessage = res.CPU.TargetSeconds / float64(n)
	}
	res.Errors = int(r.errs.Load())
	if p := r.firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return res
}

func direction(expected, win uint64, el time.Duration, h *Histogram) Direction {
	d := Direction{Expected: expected, Delivered: win, Rate: rate(win, el), Received: h.Count(), Latency: h.Summary()}
	if expected > d.Received {
		d.Lost = expected - d.Received
	}
	return d
}
