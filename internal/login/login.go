// Package login is what an HTTP server needs to let people and programs
// prove who they are: sessions (random cookie values held in memory until
// they expire or are revoked), a per-address throttle on wrong secrets,
// passwords stored as bcrypt hashes, the bearer token of a request, and a
// safe place to go after a login. The hub's dashboard and the device's
// page (package devauth) are built on it.
//
// Everything here is safe for concurrent use and does no I/O.
package login

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Bearer returns the token of r's "Authorization: Bearer <token>" header,
// "" when it has none.
func Bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// ClientAddr is the address a request came from (http.Request.RemoteAddr),
// without its port.
func ClientAddr(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// SafeNext returns next when it is a path on this server, else "/". Only
// a single leading '/' followed by no '/' or '\' is accepted, with no
// control character or '\' anywhere: browsers drop tabs and line breaks
// from a URL and read '\' as '/', which would turn "/\t/evil.example/" or
// "/\evil.example/" into a link to another site.
func SafeNext(next string) string {
	if len(next) == 0 || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}
