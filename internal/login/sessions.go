package login

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// Sessions are logins: each a random id (32 bytes from crypto/rand) that
// carries a value of type T (who logged in, or struct{}), held in memory
// until it expires or is revoked, so two logins never share an id and an
// id stops working at logout. Ids are held by their SHA-256, so looking
// one up reveals nothing by its timing. A restart of the process ends
// every session. Make them with NewSessions.
type Sessions[T any] struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]session[T]
}

// session is one login: its value and when it ends.
type session[T any] struct {
	v   T
	exp time.Time
}

// NewSessions returns an empty set of sessions that each last ttl and
// number max at most: past it, the oldest is dropped.
func NewSessions[T any](ttl time.Duration, max int) *Sessions[T] {
	return &Sessions[T]{ttl: ttl, max: max, m: map[[sha256.Size]byte]session[T]{}}
}

// TTL is how long a session lasts.
func (s *Sessions[T]) TTL() time.Duration { return s.ttl }

// Create starts a session carrying v that lasts TTL from now, and returns
// its id.
func (s *Sessions[T]) Create(v T, now time.Time) string {
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.evict(now)
	}
	s.m[sha256.Sum256([]byte(id))] = session[T]{v: v, exp: now.Add(s.ttl)}
	return id
}

// evict drops the expired sessions, or the oldest one when none has
// expired; called with s.mu held.
func (s *Sessions[T]) evict(now time.Time) {
	var oldest [sha256.Size]byte
	var oldestExp time.Time
	n := len(s.m)
	for k, e := range s.m {
		if !now.Before(e.exp) {
			delete(s.m, k)
		} else if oldestExp.IsZero() || e.exp.Before(oldestExp) {
			oldest, oldestExp = k, e.exp
		}
	}
	if len(s.m) == n {
		delete(s.m, oldest)
	}
}

// Get returns the value of session id, and whether id is a live session.
func (s *Sessions[T]) Get(id string, now time.Time) (T, bool) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	if ok && !now.Before(e.exp) {
		delete(s.m, k)
		var zero T
		return zero, false
	}
	return e.v, ok
}

// Valid reports whether id is a live session.
func (s *Sessions[T]) Valid(id string, now time.Time) bool {
	_, ok := s.Get(id, now)
	return ok
}

// Revoke ends session id (a logout).
func (s *Sessions[T]) Revoke(id string) {
	s.mu.Lock()
	delete(s.m, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}

// RevokeIf ends the sessions whose value gone says is gone (a credential
// taken away) and returns how many.
func (s *Sessions[T]) RevokeIf(gone func(T) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.m {
		if gone(e.v) {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// RevokeAll ends every session (a password change).
func (s *Sessions[T]) RevokeAll() {
	s.mu.Lock()
	clear(s.m)
	s.mu.Unlock()
}

// Len is the number of sessions held, expired ones not yet dropped
// included.
func (s *Sessions[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
