// Package backoff computes jittered, capped exponential delays for retrying,
// shared by the app supervisor and the call-home client. A Backoff is not
// safe for concurrent use; each retry loop owns one.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields delays Min, 2·Min, 4·Min … up to Max, each with up to
// Jitter of itself added or taken away at random.
type Backoff struct {
	// Min is the first delay; zero means 1 s.
	Min time.Duration
	// Max caps the delay; zero means 60 s.
	Max time.Duration
	// Jitter is the random fraction (0-1) of each delay added or removed;
	// zero means 0.2, negative means none.
	Jitter float64

	attempt int
}

// Next returns the delay before the next attempt and counts it.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 60 * time.Second
	}
	d := lo
	for i := 0; i < b.attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	b.attempt++
	j := b.Jitter
	if j == 0 {
		j = 0.2
	}
	if j > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * j * float64(d))
	}
	return max(d, 0)
}

// Attempts is how many delays Next has given since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps for Next(), returning ctx's error if it ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
