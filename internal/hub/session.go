package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// sessionCookie is the dashboard login's cookie.
const sessionCookie = "tether_session"

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the logins held; past it the oldest is dropped.
const maxSessions = 10000

// sessions are the dashboard's logins: each a random id (32 bytes from
// crypto/rand) held in memory until it expires or is logged out, so two
// logins never share a cookie and a cookie stops working at logout. A hub
// restart logs everyone out. Ids are held by their SHA-256, so looking one
// up reveals nothing by its timing.
type sessions struct {
	mu  sync.Mutex
	exp map[[sha256.Size]byte]time.Time
}

func newSessions() *sessions {
	return &sessions{exp: map[[sha256.Size]byte]time.Time{}}
}

// create starts a session that lasts sessionTTL from now and returns its id.
func (s *sessions) create(now time.Time) string {
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.exp) >= maxSessions {
		s.evict(now)
	}
	s.exp[sha256.Sum256([]byte(id))] = now.Add(sessionTTL)
	return id
}

// evict drops the expired sessions, or the oldest one when none has
// expired; called with s.mu held.
func (s *sessions) evict(now time.Time) {
	var oldest [sha256.Size]byte
	var oldestExp time.Time
	n := len(s.exp)
	for k, exp := range s.exp {
		if !now.Before(exp) {
			delete(s.exp, k)
		} else if oldestExp.IsZero() || exp.Before(oldestExp) {
			oldest, oldestExp = k, exp
		}
	}
	if len(s.exp) == n {
		delete(s.exp, oldest)
	}
}

// valid reports whether id is a live session.
func (s *sessions) valid(id string, now time.Time) bool {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.exp[k]
	if ok && !now.Before(exp) {
		delete(s.exp, k)
		return false
	}
	return ok
}

// revoke ends session id (logout).
func (s *sessions) revoke(id string) {
	s.mu.Lock()
	delete(s.exp, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}
