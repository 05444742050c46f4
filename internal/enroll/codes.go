package enroll

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of Codes.Use; each wraps ErrRefused.
var (
	ErrRefused      = errors.New("enrollment refused")
	ErrUnknownCode  = errors.New("unknown code")
	ErrUsedCode     = errors.New("code already used")
	ErrExpiredCode  = errors.New("code expired")
	ErrWrongDevice  = errors.New("code made for another device")
	ErrTooManyCodes = errors.New("too many codes waiting: let some expire or be used")
)

// MaxCodes bounds the codes held (waiting, or used and not yet expired).
const MaxCodes = 1000

// Code is one enrollment code as the hub holds it (never its text: its
// SHA-256 is the key it is found by).
type Code struct {
	// Device, when set, is the only device id the code enrolls.
	Device string
	// By is who made it (for the audit log).
	By      string
	Expires time.Time
	used    bool
}

// Codes are the enrollment codes a hub made: each used once, before it
// expires. Safe for concurrent use; held in memory (a hub restart forgets
// them).
type Codes struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*Code
}

// NewCodes returns an empty set of codes.
func NewCodes() *Codes { return &Codes{m: map[[sha256.Size]byte]*Code{}} }

// Make makes a new code for c (c.Device may be empty: any device id) and
// returns its text.
func (cs *Codes) Make(c Code, now time.Time) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.prune(now)
	if len(cs.m) >= MaxCodes {
		return "", ErrTooManyCodes
	}
	text := NewCode()
	norm, _ := NormalCode(text)
	cc := c
	cs.m[sha256.Sum256([]byte(norm))] = &cc
	return text, nil
}

// Use spends a code for device id: it returns the code's record, or an
// error wrapping ErrRefused that says why (unknown, used, expired, made for
// another device). A used code stays known until it expires, so that its
// second use is told apart from a typo.
func (cs *Codes) Use(text, id string, now time.Time) (Code, error) {
	norm, ok := NormalCode(text)
	if !ok {
		return Code{}, fmt.Errorf("%w: %w", ErrRefused, ErrUnknownCode)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[sha256.Sum256([]byte(norm))]
	switch {
	case c == nil:
		return Code{}, fmt.Errorf("%w: %w", ErrRefused, ErrUnknownCode)
	case !now.Before(c.Expires):
		return *c, fmt.Errorf("%w: %w", ErrRefused, ErrExpiredCode)
	case c.used:
		return *c, fmt.Errorf("%w: %w", ErrRefused, ErrUsedCode)
	case c.Device != "" && c.Device != id:
		return *c, fmt.Errorf("%w: %w", ErrRefused, ErrWrongDevice)
	}
	c.used = true
	return *c, nil
}

// prune forgets codes expired for a while; cs.mu held.
func (cs *Codes) prune(now time.Time) {
	for k, c := range cs.m {
		if now.Sub(c.Expires) > time.Hour {
			delete(cs.m, k)
		}
	}
}
