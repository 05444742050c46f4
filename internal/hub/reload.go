package hub

import (
	"context"
	"fmt"
	"os"
	"time"

	"tether/internal/hub/access"
	"tether/internal/ticks"
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
// longer holds (closed with 4001 "credentials revoked") and pages whose
// credential may no longer view their device; narrowed grants hold from
// the next message. A file that does not load leaves the one in force and
// returns why. The enrolled devices' file is read again too. It is what
// SIGHUP does; a change of either file does it for that file.
func (h *Hub) ReloadAuth() error {
	err := h.reloadEnrolled()
	if h.opts.AuthFile == "" {
		return err
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	a, aerr := LoadAuth(h.opts.AuthFile)
	if aerr != nil {
		h.metrics.authReloads.WithLabelValues("error").Inc()
		h.log.Error("auth file not reloaded: keeping the one in force", "auth", h.opts.AuthFile, "err", aerr)
		return fmt.Errorf("reload auth: %w", aerr)
	}
	c := newAuthConfig(a)
	h.authCfg.Store(c)
	h.metrics.authReloads.WithLabelValues("ok").Inc()
	h.log.Info("auth file reloaded", "auth", h.opts.AuthFile, "devices", len(a.Devices), "page_tokens", len(a.Pages), "users", len(a.Users))
	h.warnAuth(c)
	h.sweep(c)
	return err
}

// reloadEnrolled reads the enrolled devices' file again: a device whose
// certificate it no longer records is closed with 4001.
func (h *Hub) reloadEnrolled() error {
	if h.enrolled == nil {
		return nil
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	e, err := loadEnrolled(h.opts.EnrollFile)
	if err != nil {
		h.log.Error("enrolled devices not reloaded: keeping those in force", "file", h.opts.EnrollFile, "err", err)
		return fmt.Errorf("reload enrolled devices: %w", err)
	}
	h.enrolled.replace(e)
	h.sweep(h.auth())
	return nil
}

// watched is a file the hub reads again when it changes.
type watched struct {
	path   string
	stat   os.FileInfo
	reload func() error
}

// changed reports whether fi is another file, size or time than w's.
func (w *watched) changed(fi os.FileInfo) bool {
	old := w.stat
	return old == nil || !os.SameFile(old, fi) || !old.ModTime().Equal(fi.ModTime()) || old.Size() != fi.Size()
}

// watchList is the files the hub reads again when they change, as they
// are now: taken before the hub serves, so that no change after it goes
// unseen.
func (h *Hub) watchList() []*watched {
	var ws []*watched
	if h.opts.AuthFile != "" {
		ws = append(ws, &watched{path: h.opts.AuthFile, reload: h.ReloadAuth})
	}
	if h.opts.EnrollCA != nil && h.opts.EnrollFile != "" {
		ws = append(ws, &watched{path: h.opts.EnrollFile, reload: h.reloadEnrolled})
	}
	for _, w := range ws {
		w.stat, _ = os.Stat(w.path)
	}
	return ws
}

// watchFiles reloads the files of ws whenever one changes (another size,
// time or file), until ctx ends. Polling works on every file system and a
// change is seen within authPoll.
func (h *Hub) watchFiles(ctx context.Context, ws []*watched) {
	if len(ws) == 0 {
		return
	}
	for range ticks.Every(ctx, authPoll) {
		for _, w := range ws {
			fi, err := os.Stat(w.path)
			if err != nil || !w.changed(fi) {
				continue // unchanged, or being replaced or gone: the one in force stays
			}
			w.stat = fi
			w.reload()
		}
	}
}

// sweep holds every live connection to the auth file c (nil: an open
// hub) and the enrolled devices: those whose credential they lack are
// closed, the others take its grants.
func (h *Hub) sweep(c *authConfig) {
	sessions := 0
	if c != nil {
		sessions = h.sessions.RevokeIf(func(ref credRef) bool { return c.resolve(ref) == nil })
	}
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
		d := p.devCred
		tokenGone := d.byToken && (c == nil || !c.file.Devices[p.id].matchHash(d.sum))
		certGone := d.serial != nil && !h.enrolled.has(p.id, d.serial)
		ruleGone := d.rule != "" && !c.stillHolds(p.id, p.remote, d.aliasSum, d.viaAlias)
		if tokenGone || certGone || ruleGone {
			h.revoke(p, reasonRevoked)
			return false
		}
		return true
	}
	who := p.who.Load()
	if who == nil || who == anyone || c == nil {
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
