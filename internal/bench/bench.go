// Package bench is tether's load generator, in the manner of nats bench:
// closed-loop WebSocket or raw TCP echo round trips (Echo), numbered and
// timestamped messages between devices and pages through a hub or an MQTT
// broker with every loss and reordering counted (Relay), and idle device
// connections against a process whose memory is read from /proc (Idle).
//
// Each run takes an options struct whose zero value works, returns a result
// that encodes to JSON, and reports progress through an optional callback.
// Every goroutine a run starts has ended when it returns.
package bench

import (
	"context"
	"sync"
	"time"

	"tether/internal/ticks"
)

// Progress receives a one-line snapshot of a running benchmark about every
// Interval; nil means no progress.
type Progress func(line string)

// ticker calls f(elapsed) every interval until ctx ends, from one goroutine
// that has ended when stop returns.
func ticker(ctx context.Context, interval time.Duration, f func(time.Duration)) (stop func()) {
	if interval <= 0 {
		interval = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		for range ticks.Every(ctx, interval) {
			f(time.Since(start))
		}
	})
	return func() { cancel(); wg.Wait() }
}

// rate is n events over d, per second.
func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// meter turns a growing count into a rate since its previous reading.
type meter struct {
	last uint64
	at   time.Duration
}

func (m *meter) per(n uint64, elapsed time.Duration) float64 {
	r := rate(n-m.last, elapsed-m.at)
	m.last, m.at = n, elapsed
	return r
}
