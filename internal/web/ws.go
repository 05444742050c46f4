package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"tether/internal/wsconn"
)

// serveWebSocket upgrades r and hands the connection to the command API
// until it ends or the server shuts down.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if s.opts.API == nil {
		http.NotFound(w, r)
		return
	}
	origin, err := s.checkOrigin(r)
	if err != nil {
		s.log.Debug("refused WebSocket", "remote", r.RemoteAddr, "err", err) // per request: not above debug
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if s.ctx.Err() != nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	opts := wsconn.AcceptOptions{Options: wsconn.Options{ReadLimit: s.opts.MaxMessage}}
	if origin != "" {
		opts.OriginPatterns = []string{escapePattern(origin)} // already checked above
	}
	conn, err := wsconn.Accept(w, r, opts)
	if err != nil {
		s.log.Debug("refused WebSocket", "remote", r.RemoteAddr, "err", err)
		return // Accept has answered
	}
	s.log.Debug("client connected", "remote", r.RemoteAddr, "path", r.URL.Path)
	ctx, stop := wsconn.ServeContext(s.ctx, r)
	defer stop()
	err = conn.WithKeepalive(ctx, wsconn.DefaultPingInterval, func() error { return s.opts.API.Serve(ctx, conn) })
	s.log.Debug("client gone", "remote", r.RemoteAddr, "err", err)
}

// checkOrigin allows requests without an Origin (programs), from a page of
// the same host on any port (the page and the API may be on different
// ports) when that host is an address or a local name, or the page came
// over https (a browser lets an https page open only wss://, where a
// rebound name fails the device's certificate), and from origins matching
// Options.Origins. It returns the origin's host:port to let
// through, "" when there is no Origin.
func (s *Server) checkOrigin(r *http.Request) (string, error) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "", nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("check origin: bad Origin %q", origin)
	}
	if strings.EqualFold(u.Hostname(), hostname(r.Host)) && (u.Scheme == "https" || LocalName(r.Host)) {
		return u.Host, nil
	}
	for _, pat := range s.opts.Origins {
		pat = strings.ToLower(pat)
		for _, target := range []string{u.Host, u.Hostname()} {
			if ok, _ := path.Match(pat, strings.ToLower(target)); ok {
				return u.Host, nil
			}
		}
	}
	return "", fmt.Errorf("check origin: origin %q not allowed for host %q (allow it with demo.origins)", u.Host, r.Host)
}

// LocalName reports whether a Host header (with or without a port) names
// this device in a way a page on the internet cannot take over by DNS
// rebinding: an IP address, localhost, a single label ("raspberrypi") or a
// name under a suffix no one can register (.local, .lan, .home.arpa,
// .internal, .localhost). A page served under any other name
// (evil.example resolved to the device's address) would otherwise be
// "same origin" with the device: the command API wants it in
// Options.Origins, recovery refuses it.
func LocalName(hostport string) bool {
	host := strings.ToLower(strings.TrimSuffix(hostname(hostport), "."))
	if net.ParseIP(host) != nil || !strings.Contains(host, ".") {
		return true
	}
	for _, suffix := range []string{".local", ".lan", ".home.arpa", ".internal", ".localhost"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// hostname strips the port from a Host header.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// escapePattern quotes s for path.Match.
func escapePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
