package hub

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"tether/internal/login"
)

// connLimit bounds the WebSocket connections (open, or being upgraded) one
// client address holds on one port. A zero max means no bound.
type connLimit struct {
	max  int
	flag string // the option that sets max, for the refusal's text
	mu   sync.Mutex
	n    map[string]int
}

func newConnLimit(max int, flag string) *connLimit {
	return &connLimit{max: max, flag: flag, n: map[string]int{}}
}

// acquire counts a connection from addr; it reports false (counting
// nothing) when addr holds the most it may.
func (l *connLimit) acquire(addr string) bool {
	if l.max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[addr] >= l.max {
		return false
	}
	l.n[addr]++
	return true
}

// release gives back a connection acquire counted.
func (l *connLimit) release(addr string) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[addr] <= 1 {
		delete(l.n, addr)
		return
	}
	l.n[addr]--
}

// slot is one connection counted by a connLimit: given to the peer it
// becomes (which gives it back when it ends), or back at done.
type slot struct {
	lim   *connLimit
	addr  string
	given bool
}

// giveTo hands the slot to p.
func (s *slot) giveTo(p *peer) {
	p.limit, p.limitAddr, s.given = s.lim, s.addr, true
}

// done gives the slot back unless a peer took it.
func (s *slot) done() {
	if !s.given {
		s.lim.release(s.addr)
	}
}

// admit429 counts r's connection on lim, or refuses it with 429 and reports
// false. On true the caller holds the slot: it gives it to the peer the
// connection becomes, and calls done when its handler returns.
func (h *Hub) admit429(w http.ResponseWriter, r *http.Request, lim *connLimit, role, id string) (*slot, bool) {
	addr := login.ClientAddr(r.RemoteAddr)
	if lim.acquire(addr) {
		return &slot{lim: lim, addr: addr}, true
	}
	h.metrics.addrLimited.WithLabelValues(role).Inc()
	h.warnings.Warn(role+" refused: too many connections from its address", "device", id, "remote", r.RemoteAddr, "limit", lim.max)
	w.Header().Set("Retry-After", strconv.Itoa(int(throttleEvery.Seconds())))
	refuseUpgrade(w, http.StatusTooManyRequests, fmt.Sprintf("too many connections from this address: at most %d (%s)", lim.max, lim.flag))
	return nil, false
}
