package login

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password lengths a person may choose, in bytes: bcrypt reads 72 at most.
const (
	MinPassword = 8
	MaxPassword = 72
)

// HashCost is bcrypt's cost for new hashes: tens of milliseconds a check
// on a server core, more on a small board (docs/PERFORMANCE.md).
const HashCost = bcrypt.DefaultCost

// CheckNew returns why pw cannot be a password, nil when it can.
func CheckNew(pw string) error {
	switch {
	case len(pw) < MinPassword:
		return fmt.Errorf("want a password of at least %d characters, got %d", MinPassword, utf8.RuneCountInString(pw))
	case len(pw) > MaxPassword:
		return fmt.Errorf("want a password of at most %d bytes, got %d", MaxPassword, len(pw))
	case !utf8.ValidString(pw):
		return errors.New("want a password in UTF-8")
	}
	return nil
}

// HashPassword returns pw's bcrypt hash ("$2a$10$..."), after CheckNew.
func HashPassword(pw string) (string, error) { return HashPasswordCost(pw, HashCost) }

// HashPasswordCost is HashPassword with bcrypt's cost (4-31; tests use 4,
// whose checks are 64 times as fast).
func HashPasswordCost(pw string, cost int) (string, error) {
	if err := CheckNew(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw is the password of hash, a bcrypt hash
// HashPassword made. A hash that is not one matches nothing.
func CheckPassword(hash, pw string) bool {
	if len(pw) > MaxPassword {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// ValidHash reports whether hash reads as a bcrypt hash.
func ValidHash(hash string) bool {
	_, err := bcrypt.Cost([]byte(hash))
	return err == nil
}
