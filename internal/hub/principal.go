package hub

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"slices"

	"tether/internal/hub/access"
)

// principal is who a page request or connection speaks for: a page token
// or a dashboard user, with their grants as the auth file says now.
type principal struct {
	name   string // for the audit log and the hub's log
	user   bool   // a dashboard user (else a page token, or anyone on an open hub)
	grants access.Grants
	ref    credRef
}

// credRef is what the hub keeps of a credential to find it again after the
// auth file changes: a user's name and the hash of their password entry,
// or the SHA-256 of a page token. Never the token or password itself.
type credRef struct {
	user string
	sum  [sha256.Size]byte
}

// anyone is the principal of every request to an open hub.
var anyone = &principal{name: "anyone", grants: access.Everything}

// authConfig is the auth file as the hub uses it: the file, and the page
// credentials compiled.
type authConfig struct {
	file  *Auth
	pages []*principal // by index in file.Pages
	users map[string]*principal
	// legacy counts page tokens without grants (everything everywhere).
	legacy int
	// aliases maps the devices' path aliases to their ids; ranges holds
	// their address ranges.
	aliases map[string]string
	ranges  map[string][]netip.Prefix
}

// newAuthConfig compiles a checked auth file.
func newAuthConfig(a *Auth) *authConfig {
	c := &authConfig{file: a, users: map[string]*principal{}, aliases: map[string]string{}, ranges: map[string][]netip.Prefix{}}
	for id, d := range a.Devices {
		if d.Alias != "" {
			c.aliases[d.Alias] = id
		}
		for _, r := range d.CIDR {
			p, _ := netip.ParsePrefix(r) // checked by ParseAuth
			c.ranges[id] = append(c.ranges[id], p.Masked())
		}
	}
	for _, p := range a.Pages {
		pr := &principal{name: p.Name, grants: access.Everything}
		if pr.name == "" {
			pr.name = p.hashID()
		}
		if p.Grants != nil {
			pr.grants, _ = access.Compile(p.Grants) // checked by ParseAuth
		} else {
			c.legacy++
		}
		c.pages = append(c.pages, pr)
	}
	for name, u := range a.Users {
		g, _ := access.Compile(u.Grants)
		c.users[name] = &principal{name: name, user: true, grants: g,
			ref: credRef{user: name, sum: sha256.Sum256([]byte(u.Password))}}
	}
	return c
}

// pageToken returns the principal of a page token, or nil.
func (c *authConfig) pageToken(tok string) *principal {
	if tok == "" {
		return nil
	}
	return c.resolve(credRef{sum: sha256.Sum256([]byte(tok))})
}

// resolve finds a credential again: nil when the auth file no longer has
// it (a token removed, a user removed or given another password).
func (c *authConfig) resolve(ref credRef) *principal {
	if ref.user != "" {
		if p := c.users[ref.user]; p != nil && p.ref.sum == ref.sum {
			return p
		}
		return nil
	}
	var found *principal
	for i, p := range c.file.Pages {
		if p.matchHash(ref.sum) && found == nil { // every entry is compared
			found = c.pages[i]
		}
	}
	if found == nil {
		return nil
	}
	cp := *found
	cp.ref = ref
	return &cp
}

// deviceLabels are the labels the auth file gives a device.
func (c *authConfig) deviceLabels(id string) []string {
	if c == nil {
		return nil
	}
	return c.file.Devices[id].Labels
}

// principalKey carries a request's principal in its context.
type principalKey struct{}

func withPrincipal(r *http.Request, p *principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// requestPrincipal is the principal authed put in r's context.
func requestPrincipal(r *http.Request) *principal {
	if p, ok := r.Context().Value(principalKey{}).(*principal); ok {
		return p
	}
	return anyone
}

// labelsOf returns the labels of device id: those of the auth file and
// those the device reports in its state (the "labels" key).
func (h *Hub) labelsOf(id string) []string {
	own := summarize(h.broker.Shadow(id)).Labels
	file := h.auth().deviceLabels(id)
	if len(own) == 0 {
		return file
	}
	return slices.Concat(file, own)
}

// verbOn is what p may do on device id now.
func (h *Hub) verbOn(p *principal, id string) access.Verb {
	if p == anyone {
		return access.Admin
	}
	return p.grants.On(id, h.labelsOf(id))
}

// operator reports whether p may do everything to every device: read
// /metrics and make enrollment codes.
func (p *principal) operator() bool {
	return p == anyone || p.grants.Everywhere() == access.Admin
}
