package hub

import (
	"net"
	"sync"
	"time"
)

// Token guessing is throttled per client address: an address may present
// throttleBurst wrong tokens at once, then one more every throttleEvery;
// past that its attempts are refused (429) without the token being looked
// at. A device retrying a wrong token every few seconds is never throttled.
const (
	throttleBurst     = 10
	throttleEvery     = 2 * time.Second
	throttleAddresses = 100000 // addresses remembered at most
)

// throttle counts wrong tokens by client address (a token bucket each).
type throttle struct {
	mu sync.Mutex
	m  map[string]*bucket
}

// bucket holds the failures an address may still make, as of at.
type bucket struct {
	left float64
	at   time.Time
}

func newThrottle() *throttle { return &throttle{m: map[string]*bucket{}} }

// clientAddr is the address a request came from, without its port.
func clientAddr(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// refill brings b up to now; it reports whether b is full (forgettable).
func (b *bucket) refill(now time.Time) bool {
	b.left = min(throttleBurst, b.left+float64(now.Sub(b.at))/float64(throttleEvery))
	b.at = now
	return b.left >= throttleBurst
}

// allow reports whether addr may try a token now.
func (t *throttle) allow(addr string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[addr]
	if b == nil {
		return true
	}
	if b.refill(now) {
		delete(t.m, addr)
	}
	return b.left >= 1
}

// fail counts a wrong token from addr.
func (t *throttle) fail(addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[addr]
	if b == nil {
		if len(t.m) >= throttleAddresses {
			t.forget(now)
		}
		b = &bucket{left: throttleBurst, at: now}
		t.m[addr] = b
	}
	b.refill(now)
	b.left = max(0, b.left-1)
}

// forget drops the addresses whose buckets are full again, or one address
// when none is; called with t.mu held.
func (t *throttle) forget(now time.Time) {
	n := len(t.m)
	for a, b := range t.m {
		if b.refill(now) {
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
