package devauth

import (
	"context"
	"net/http"
	"time"
)

// WatchEvery is how often, while connections the password opened are
// live, the guard looks at the password file for a change another
// process made (tether device passwd, a reset): the connections of the
// old password then end within about this long, not at their next
// request.
const WatchEvery = time.Second

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
	if !g.watching && g.opts.Root != "" {
		g.watching = true
		go g.watch()
	}
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

// watch reads the password file again every WatchEvery while lasting
// requests are live, so that a change made by another process ends them
// (refreshLocked does); it ends when none is left.
func (g *Guard) watch() {
	t := time.NewTicker(WatchEvery)
	defer t.Stop()
	for range t.C {
		g.mu.Lock()
		g.refreshLocked()
		if len(g.live) == 0 {
			g.watching = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
	}
}
