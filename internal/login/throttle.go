package login

import (
	"sync"
	"time"
)

// maxAddresses bounds the addresses a Throttle remembers.
const maxAddresses = 100000

// Throttle counts wrong secrets by client address, a token bucket each:
// an address may make burst mistakes at once, then one more every every;
// past that Allow says no, and the caller refuses the attempt without
// looking at the secret. A program retrying a wrong secret every few
// seconds is never throttled. Make one with NewThrottle.
type Throttle struct {
	burst float64
	every time.Duration

	mu sync.Mutex
	m  map[string]*bucket
}

// bucket holds the mistakes an address may still make, as of at.
type bucket struct {
	left float64
	at   time.Time
}

// NewThrottle returns a Throttle that allows burst mistakes per address,
// then one every every.
func NewThrottle(burst int, every time.Duration) *Throttle {
	return &Throttle{burst: float64(burst), every: every, m: map[string]*bucket{}}
}

// Every is how often a throttled address may try again (for Retry-After).
func (t *Throttle) Every() time.Duration { return t.every }

// refill brings b up to now; it reports whether b is full (forgettable).
func (t *Throttle) refill(b *bucket, now time.Time) bool {
	b.left = min(t.burst, b.left+float64(now.Sub(b.at))/float64(t.every))
	b.at = now
	return b.left >= t.burst
}

// Allow reports whether addr may try a secret now.
func (t *Throttle) Allow(addr string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[addr]
	if b == nil {
		return true
	}
	if t.refill(b, now) {
		delete(t.m, addr)
	}
	return b.left >= 1
}

// Fail counts a wrong secret from addr.
func (t *Throttle) Fail(addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[addr]
	if b == nil {
		if len(t.m) >= maxAddresses {
			t.forget(now)
		}
		b = &bucket{left: t.burst, at: now}
		t.m[addr] = b
	}
	t.refill(b, now)
	b.left = max(0, b.left-1)
}

// forget drops the addresses whose buckets are full again, or one address
// when none is; called with t.mu held.
func (t *Throttle) forget(now time.Time) {
	n := len(t.m)
	for a, b := range t.m {
		if t.refill(b, now) {
			delete(t.m, a)
		}
	}
	if len(t.m) == n {
		for a := range t.m {
			delete(t.m, a)
			return
		}
	}
}
