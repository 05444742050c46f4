package hub

import (
	"time"

	"tether/internal/login"
)

// sessionCookie is the dashboard login's cookie.
const sessionCookie = "tether_session"

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the logins held; past it the oldest is dropped.
const maxSessions = 10000

// Token guessing is throttled per client address: an address may present
// throttleBurst wrong tokens at once, then one more every throttleEvery;
// past that its attempts are refused (429) without the token being looked
// at. A device retrying a wrong token every few seconds is never throttled.
const (
	throttleBurst = 10
	throttleEvery = 2 * time.Second
)

// newSessions returns the dashboard's logins (package login): in memory,
// so a hub restart logs everyone out. Each carries whose it is (a
// credRef), found again in the auth file at every request.
func newSessions() *login.Sessions[credRef] {
	return login.NewSessions[credRef](sessionTTL, maxSessions)
}

// newThrottle returns the per-address throttle on wrong tokens.
func newThrottle() *login.Throttle { return login.NewThrottle(throttleBurst, throttleEvery) }
