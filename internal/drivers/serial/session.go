package serial

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"tether/internal/backoff"
	"tether/internal/ticks"
	"tether/internal/wire"
)

// Retry delays: the first retry after a port went away or did not open,
// and the cap. A port that stayed open for resetAfter starts again from
// the first delay.
const (
	retryMin   = 250 * time.Millisecond
	retryMax   = 5 * time.Second
	resetAfter = 10 * time.Second
)

// flushAfter is how long a binary mode waits for more bytes before it
// passes on a chunk shorter than max_line.
const flushAfter = 50 * time.Millisecond

// session is one Start..Stop of a driver: its goroutine opens the port,
// reads it, and reopens it whenever it goes, until its context ends.
type session struct {
	d      *Driver
	out    func(wire.Message)
	cancel context.CancelFunc
	done   chan struct{}
}

// run is the session's goroutine. A panic ends the session with the
// panic in its status and the stack in the log, never the process.
func (s *session) run(ctx context.Context) {
	defer close(s.done)
	defer s.recover()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.reportCounts(ctx) }()
	defer wg.Wait()
	defer s.cancel()
	b := backoff.Backoff{Min: retryMin, Max: retryMax}
	for ctx.Err() == nil {
		p, err := open(s.d.set)
		if err == nil {
			opened := time.Now()
			err = s.serve(ctx, p)
			if time.Since(opened) >= resetAfter {
				b.Reset()
			}
			if ctx.Err() != nil {
				return
			}
			err = &portError{fmt.Sprintf("%s went away (%v)", s.d.set.port, err), true}
		}
		s.setStatus(statusOf(err))
		if b.Wait(ctx) != nil {
			return
		}
	}
}

// recover turns a panic of the session into its status and ends it.
func (s *session) recover() {
	v := recover()
	if v == nil {
		return
	}
	s.d.log.Error("serial driver panicked", "panic", v, "stack", string(debug.Stack()))
	s.setStatus(fmt.Sprintf("%s: internal error: %v", StatusError, v))
	s.d.mu.Lock()
	if s.d.sess == s {
		s.d.sess = nil
	}
	s.d.mu.Unlock()
}

// statusOf is the status after err: waiting for a port that is not
// there, an error for one that is there but cannot be used.
func statusOf(err error) string {
	if pe := (*portError)(nil); errors.As(err, &pe) && pe.missing {
		return StatusWaiting + ": " + err.Error() + ", retrying"
	}
	return StatusError + ": " + err.Error() + ", retrying"
}

// serve reads the open port p until it fails or ctx ends, then closes it.
func (s *session) serve(ctx context.Context, p *port) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); <-ctx.Done(); p.Close() }() // ends Read and Write
	defer wg.Wait()
	defer cancel()
	s.d.mu.Lock()
	s.d.port = p
	s.d.mu.Unlock()
	defer func() {
		s.d.mu.Lock()
		s.d.port = nil
		s.d.mu.Unlock()
	}()
	s.setStatus(StatusOpen + ": " + s.d.set.String())
	return s.read(p)
}

// read passes on what p sends, as lines or binary chunks, until p fails.
func (s *session) read(p *port) error {
	set := s.d.set
	limit := rate.NewLimiter(rate.Limit(set.maxRate), min(set.maxRate, MaxBurst))
	key := s.d.name + "/line"
	var pending []byte // a binary mode's chunk so far
	pass := func(text string) {
		if limit.Allow() {
			s.out(wire.Message{key: text})
			return
		}
		s.count(&s.d.dropped)
	}
	split := &lines{max: set.maxLine, emit: func(line string, cut bool) {
		if cut {
			s.count(&s.d.truncated)
			line += Truncated
		}
		pass(line)
	}}
	if set.encoding != "" {
		key = s.d.name + "/data"
	}
	buf := make([]byte, min(set.maxLine, 4096))
	for {
		var deadline time.Time
		if len(pending) > 0 {
			deadline = time.Now().Add(flushAfter)
		}
		n, err := p.Read(buf, deadline)
		if set.encoding == "" {
			split.write(buf[:n])
		} else {
			pending = s.chunk(pending, buf[:n], err != nil, pass)
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
		case err != nil:
			return err
		}
	}
}

// chunk adds b to a binary mode's pending bytes and passes them on, in
// chunks of max_line bytes, when there are that many or flush is set
// (the port went quiet or failed).
func (s *session) chunk(pending, b []byte, flush bool, pass func(string)) []byte {
	set := s.d.set
	pending = append(pending, b...)
	for len(pending) >= set.maxLine || flush && len(pending) > 0 {
		n := min(len(pending), set.maxLine)
		pass(encode(set.encoding, pending[:n]))
		pending = pending[n:]
	}
	return pending
}

// count adds one to a counter; reportCounts sends the counters on.
func (s *session) count(c *int64) {
	s.d.mu.Lock()
	*c++
	s.d.mu.Unlock()
}

// reportCounts sends the driver's state once a second while its counters
// change, so a flood is seen without a message per dropped line.
func (s *session) reportCounts(ctx context.Context) {
	var last [2]int64
	for range ticks.Every(ctx, time.Second) {
		s.d.mu.Lock()
		now := [2]int64{s.d.dropped, s.d.truncated}
		state := s.d.stateLocked()
		s.d.mu.Unlock()
		if now != last {
			last = now
			s.out(state)
		}
	}
}

// setStatus records the status and, when it changed, logs it and sends
// the driver's state on; a stopped session's status is ignored.
func (s *session) setStatus(status string) {
	d := s.d
	d.mu.Lock()
	if d.sess != s || d.status == status {
		d.mu.Unlock()
		return
	}
	d.status = status
	state := d.stateLocked()
	d.mu.Unlock()
	if strings.HasPrefix(status, StatusOpen) {
		d.log.Info("serial port " + status)
	} else {
		d.log.Warn("serial port " + status)
	}
	s.out(state)
}
