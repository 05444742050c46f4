package hub

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"tether/internal/login"
)

// MinPasswordCost is the least bcrypt cost the auth file accepts.
const MinPasswordCost = 10

// HashPassword returns the bcrypt hash of a dashboard user's password, as
// the auth file's users.<name>.password holds it (package login's rules).
func HashPassword(password string) (string, error) {
	h, err := login.HashPassword(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// checkPasswordHash checks that h is a bcrypt hash of cost MinPasswordCost
// or more: a password in clear, or a fast hash, is refused.
func checkPasswordHash(h string) error {
	if !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
		return errors.New(`want a bcrypt hash ("$2a$10$..." from tether hub passwd), got something else (never the password itself)`)
	}
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil || !login.ValidHash(h) {
		return fmt.Errorf("bad bcrypt hash: %v", err)
	}
	if cost < MinPasswordCost {
		return fmt.Errorf("bcrypt cost %d, want at least %d", cost, MinPasswordCost)
	}
	return nil
}

// dummyHash (of no one's password, at login.HashCost) is compared when a
// login names an unknown user, so the time a login takes does not tell
// whether the user exists.
const dummyHash = "$2a$10$gzoA91YYvVuloWyfiLnwWuzMPbICT/4s/01QASWIEuBQqm.BKA5/m"
