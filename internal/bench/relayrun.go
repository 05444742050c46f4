package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ackTimeout bounds a closed-loop sender's wait for a message that may
// have been lost.
const ackTimeout = time.Second

// relayRun is one Relay: its connections, per-stream senders and checks,
// and totals each way.
type relayRun struct {
	o       RelayOptions
	tr      transport
	devs    []msgConn // by device index
	pages   []msgConn // device i's pages at i*Pages …
	ready   []chan struct{}
	devSend []*sender // device→page stream of each device
	pgSend  []*sender // page→device stream of each page

	start              time.Time
	down, up           Histogram
	downRecv, upRecv   atomic.Uint64
	downCheck, upCheck []seqCheck // per page; per page at its device
	other              atomic.Uint64
	cpu                CPU
	closing            atomic.Bool
	errs               atomic.Int64
	firstErr           atomic.Pointer[string]
}

func (r *relayRun) id(i int) string { return r.o.IDPrefix + strconv.Itoa(i) }

// connect opens every device, then every page, so that no page misses the
// start of its device's stream.
func (r *relayRun) connect(ctx context.Context, tr transport) error {
	var err error
	r.devs, err = dialAll(ctx, r.o.Devices, func(ctx context.Context, i int) (msgConn, error) {
		return tr.device(ctx, r.id(i))
	})
	if err != nil {
		return fmt.Errorf("connect devices: %w", err)
	}
	r.pages, err = dialAll(ctx, r.o.Devices*r.o.Pages, func(ctx context.Context, k int) (msgConn, error) {
		return tr.page(ctx, r.id(k/r.o.Pages), k)
	})
	if err != nil {
		r.closeAll()
		return fmt.Errorf("connect pages: %w", err)
	}
	r.tr = tr
	n := len(r.pages)
	r.ready = make([]chan struct{}, n)
	for k := range r.ready {
		r.ready[k] = make(chan struct{})
		if !tr.presence() {
			close(r.ready[k])
		}
	}
	r.downCheck, r.upCheck = make([]seqCheck, n), make([]seqCheck, n)
	r.devSend, r.pgSend = make([]*sender, r.o.Devices), make([]*sender, n)
	for i := range r.devSend {
		r.devSend[i] = newSender(r.o.Window)
	}
	for k := range r.pgSend {
		r.pgSend[k] = newSender(r.o.Window)
	}
	return nil
}

func (r *relayRun) closeAll() {
	r.closing.Store(true)
	for _, c := range append(append([]msgConn(nil), r.devs...), r.pages...) {
		if c != nil {
			c.Close()
		}
	}
}

func (r *relayRun) fail(err error) {
	if err == nil || r.closing.Load() {
		return
	}
	r.errs.Add(1)
	s := err.Error()
	r.firstErr.CompareAndSwap(nil, &s)
}

// run starts every reader, waits for the pages to be ready, sends for
// Duration, drains, closes everything and sums up.
func (r *relayRun) run(ctx context.Context) RelayResult {
	r.start = time.Now()
	var readers sync.WaitGroup
	for i, c := range r.devs {
		readers.Go(func() { r.fail(r.readDevice(i, c)) })
	}
	for k, c := range r.pages {
		readers.Go(func() { r.fail(r.readPage(k, c)) })
	}
	var el time.Duration
	var downWin, upWin uint64
	if err := r.waitReady(ctx); err != nil {
		r.fail(err)
	} else {
		el, downWin, upWin = r.send(ctx)
		r.drain(ctx)
	}
	r.closeAll()
	readers.Wait()
	return r.result(el, downWin, upWin)
}

// waitReady waits up to 10 s for every page to hear that its device is
// connected.
func (r *relayRun) waitReady(ctx context.Context) error {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for k, ch := range r.ready {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("page %d of %s: no {\"hub/device/connected\": true} within 10s", k%r.o.Pages, r.id(k/r.o.Pages))
		}
	}
	return nil
}

// send runs every sender for Duration and returns how long that took and
// what had been delivered each way by then.
func (r *relayRun) send(ctx context.Context) (time.Duration, uint64, uint64) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Duration)
	defer cancel()
	stop := ticker(ctx, r.o.Interval, r.progress)
	defer stop()
	t0, cpu := time.Now(), startCPU(r.o.PID)
	var wg sync.WaitGroup
	if r.o.Direction != "up" {
		for i, c := range r.devs {
			wg.Go(func() { r.fail(r.sendLoop(ctx, c, r.devSend[i], uint32(i), r.o.Pages, r.o.Rate)) })
		}
	}
	if r.o.Direction != "down" {
		for k, c := range r.pages {
			wg.Go(func() { r.fail(r.sendLoop(ctx, c, r.pgSend[k], upBit|uint32(k%r.o.Pages), 1, r.o.PageRate)) })
		}
	}
	<-ctx.Done()
	el := time.Since(t0)
	r.cpu, _ = cpu.stop() // the target may have gone: its share stays 0
	downWin, upWin := r.downRecv.Load(), r.upRecv.Load()
	wg.Wait()
	return el, downWin, upWin
}

func (r *relayRun) progress(el time.Duration) {
	if r.o.Progress == nil {
		return
	}
	r.o.Progress(fmt.Sprintf("relay %s  device→page %d (p50 %v)  page→device %d (p50 %v)  errors %d",
		el.Round(100*time.Millisecond), r.downRecv.Load(), r.down.Quantile(0.5).Round(time.Microsecond), r.upRecv.Load(), r.up.Quantile(0.5).Round(time.Microsecond), r.errs.Load()))
}

// sendLoop sends numbered messages on one stream until ctx ends, at rate
// per second, or in a closed loop when rate is 0: each message waits for a
// place in the window, that is until one sent earlier has reached all its
// receivers (or a second has passed: it is taken as lost).
func (r *relayRun) sendLoop(ctx context.Context, c msgConn, s *sender, stream uint32, receivers int, rate float64) error {
	msg := make([]byte, r.o.Size)
	for i := headerSize; i < len(msg); i++ {
		msg[i] = 'x'
	}
	wait := time.NewTimer(ackTimeout)
	defer wait.Stop()
	t0 := time.Now()
	for seq := uint64(0); ctx.Err() == nil; seq++ {
		if rate > 0 {
			due := time.Duration(float64(seq) / rate * float64(time.Second))
			if d := due - time.Since(t0); d > 0 {
				wait.Reset(d)
				select {
				case <-wait.C:
				case <-ctx.Done():
					return nil
				}
			}
		} else {
			wait.Reset(ackTimeout)
			select {
			case <-s.credits:
			case <-wait.C:
			case <-ctx.Done():
				return nil
			}
			s.arm(seq, receivers)
		}
		putHeader(msg, stream, seq, time.Since(r.start))
		if err := c.WriteMsg(msg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("send: %w", err)
		}
		s.sent.Add(1)
	}
	return nil
}
