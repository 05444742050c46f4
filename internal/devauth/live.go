package devauth

import (
	"context"
	"net/http"
)

// CodePasswordChanged is the WebSocket close code of a connection the
// old password opened, when the password changes (as the hub closes a
// revoked credential's with 4001).
const CodePasswordChanged = 4001

// ErrPasswordChanged is the cause of the context of a request the old
// password proved (a session of it, or the bearer password) once the
// password changes: its connection ends. CloseCode gives the WebSocket
// close code and reason a command API closes it with.
var ErrPasswordChanged error = passwordChanged{}

type passwordChanged struct{}

func (passwordChanged) Error() string {
	return "the device password changed: log in again with the new one"
}

// CloseCode is the close code and reason of a connection ended by it.
func (passwordChanged) CloseCode() (int, string) {
	return CodePasswordChanged, "device password changed: log in again"
}

// whileProven returns r with a context that ends, with the cause
// ErrPasswordChanged, when the password of generation gen gives way to
// another; stop releases it. Only an upgrade to a WebSocket, which lasts,
// needs it.
func (g *Guard) whileProven(r *http.Request, gen uint64) (*http.Request, func()) {
	ctx, cancel := context.WithCancelCause(r.Context())
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pw.gen != gen {
		cancel(ErrPasswordChanged)
		return r.WithContext(ctx), func() {}
	}
	if g.live == nil {
		g.live = map[*liveConn]struct{}{}
	}
	lc := &liveConn{cancel: cancel}
	g.live[lc] = struct{}{}
	stop := func() {
		g.mu.Lock()
		delete(g.live, lc)
		g.mu.Unlock()
		cancel(nil)
	}
	return r.WithContext(ctx), stop
}

// liveConn is a lasting request the current password proved.
type liveConn struct{ cancel context.CancelCauseFunc }

// endLiveLocked ends every lasting request of the password that just
// gave way; called with g.mu held.
func (g *Guard) endLiveLocked() {
	for lc := range g.live {
		lc.cancel(ErrPasswordChanged)
		delete(g.live, lc)
	}
}
