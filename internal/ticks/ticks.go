// Package ticks is the loop of tether's periodic tasks (keepalive pings,
// heartbeats, file polling, progress lines): once an interval until a
// context ends. It is an iterator, so each task keeps its own body and the
// ticker, its Stop and the select on the context are written once.
package ticks

import (
	"context"
	"iter"
	"time"
)

// Every yields the time of each tick, one every d (which must be
// positive), until ctx ends or the loop breaks; the first comes after d.
// A body slower than d delays the next tick rather than queueing ticks.
func Every(ctx context.Context, d time.Duration) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if !yield(now) {
					return
				}
			}
		}
	}
}
