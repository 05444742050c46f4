package hub

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	"tether/internal/hub/access"
)

// codeRevoked closes a connection whose credential the auth file no longer
// holds, or no longer lets see its device (a private close code; the
// reason says which).
const codeRevoked = 4001

// Close reasons of codeRevoked.
const (
	reasonRevoked = "credentials revoked"
	reasonNoView  = "access revoked: no view grant for this device"
)

// authPoll is how often the hub looks at the auth file for a change.
const authPoll = 250 * time.Millisecond

// ReloadAuth reads the auth file (Options.AuthFile) again and puts it in
// force: live connections stay open, except those whose credential it no
// no longer holds (closed with 4001 "credentials revoked") and pages
// whose credential may no longer view their device; narrowed grants hold
// from the next message. A file that does not load leaves the one in force
// and returns why. It is what the file's change and SIGHUP do.
func (h *Hub) ReloadAuth() error {
	if h.opts.AuthFile == "" {
		return fmt.Errorf("reload auth: the hub has no auth file")
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if fi, err := os.Stat(h.opts.AuthFile); err == nil {
		h.authStat = fi
	}
	a, err := LoadAuth(h.opts.AuthFile)
	if err != nil {
		h.metrics.authReloads.WithLabelValues("error").Inc()
		h.log.Error("auth file not reloaded: keeping the one in force", "auth", h.opts.AuthFile, "err", err)
		return fmt.Errorf("reload auth: %w", err)
	}
	c := newAuthConfig(a)
	h.authCfg.Store(c)
	h.metrics.authReloads.WithLabelValues("ok").Inc()
	h.log.Info("auth file reloaded", "auth", h.opts.AuthFile, "devices", len(a.Devices), "page_tokens", len(a.Pages), "users", len(a.Users))
	h.warnAuth(c)
	h.sweep(c)
	return nil
}

// watchAuth reloads the auth file whenever it changes (another size, time
// or file), until ctx ends. Polling works on every file system and a
// change is seen within authPoll.
func (h *Hub) watchAuth(ctx context.Context) {
	if fi, err := os.Stat(h.opts.AuthFile); err == nil {
		h.reloadMu.Lock()
		h.authStat = fi
		h.reloadMu.Unlock()
	}
	t := time.NewTicker(authPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(h.opts.AuthFile)
		if err != nil {
			continue // being replaced, or gone: the one in force stays
		}
		h.reloadMu.Lock()
		old := h.authStat
		h.reloadMu.Unlock()
		if old != nil && os.SameFile(old, fi) && old.ModTime().Equal(fi.ModTime()) && old.Size() == fi.Size() {
			continue
		}
		h.ReloadAuth()
	}
}

// sweep holds every live connection to the auth file c: those whose
// credential it lacks are closed, the others take its grants.
func (h *Hub) sweep(c *authConfig) {
	sessions := h.sessions.RevokeIf(func(ref credRef) bool { return c.resolve(ref) == nil })
	closed := 0
	for _, p := range h.allPeers() {
		if !h.recheck(p, c) {
			closed++
		}
	}
	if closed > 0 || sessions > 0 {
		h.log.Info("revoked credentials: connections closed, logins ended", "connections", closed, "sessions", sessions)
	}
}

// recheck holds one connection to the auth file c; it reports false when
// it closed it.
func (h *Hub) recheck(p *peer, c *authConfig) bool {
	if p.role == roleDevice {
		if sum, ok := p.devToken(); ok && !c.file.Devices[p.id].matchHash(sum) {
			h.revoke(p, reasonRevoked)
			return false
		}
		return true
	}
	who := p.who.Load()
	if who == nil || who == anyone {
		return true
	}
	np := c.resolve(who.ref)
	if np == nil {
		h.revoke(p, reasonRevoked)
		return false
	}
	verb := np.grants.On(p.id, h.labelsOf(p.id))
	if verb < access.View {
		h.revoke(p, reasonNoView)
		return false
	}
	p.who.Store(np)
	p.verb.Store(uint32(verb))
	return true
}

// revoke closes p for a credential taken away.
func (h *Hub) revoke(p *peer, reason string) {
	who := "device " + p.id
	if w := p.who.Load(); w != nil {
		who = w.name
	}
	h.log.Warn("closing connection: "+reason, "role", p.role, "device", p.id, "who", who, "remote", p.remote)
	h.metrics.revoked.WithLabelValues(p.role.String()).Inc()
	p.kill(codeRevoked, reason)
}

// holdToAuth rechecks a connection that was let in by an auth file that
// has been replaced since (a reload racing its upgrade).
func (h *Hub) holdToAuth(p *peer, used *authConfig) {
	if c := h.auth(); c != nil && c != used {
		h.recheck(p, c)
	}
}

// devToken returns the SHA-256 of the token a device connected with.
func (p *peer) devToken() ([sha256.Size]byte, bool) {
	return p.tokenSum, p.byToken
}

// regrant gives the pages of device id the verbs the auth file in force
// allows them now that the device's labels changed, closing those that
// may no longer view it.
func (h *Hub) regrant(id string) {
	c := h.auth()
	if c == nil {
		return
	}
	for _, p := range h.pagesOf(id) {
		h.recheck(p, c)
	}
}
