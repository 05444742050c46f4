// Package localpeer finds which local user owns the other end of a
// loopback TCP connection: the uid of the client's socket, as the
// kernel's socket tables show it (/proc/net/tcp and /proc/net/tcp6 on
// Linux; elsewhere it finds no one).
//
// The client's socket is the table's line whose local address is the
// connection's remote address and whose remote address is the
// connection's local address; only an established socket counts (the
// kernel shows a socket already closed by its process, waiting out its
// last packets, with uid 0, so it must not count as root's). The tables
// are read once per connection when an HTTP server installs ConnContext,
// else once per request that asks; and only for a loopback client.
package localpeer

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// peer is the client end of one connection, and its owner once looked up.
type peer struct {
	client, server netip.AddrPort // the connection's remote and local address
	once           sync.Once
	uid            int
	ok             bool
}

type ctxKey struct{}

// ConnContext is an http.Server's ConnContext: it notes c's addresses so
// that Owner looks the client's socket up once per connection, when first
// asked, whatever the number of requests c carries.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, ctxKey{}, &peer{client: addrPort(c.RemoteAddr()), server: addrPort(c.LocalAddr())})
}

// Owner returns the uid owning the local socket at the other end of r's
// connection. ok is false when r did not come over TCP from a loopback
// address (127.0.0.0/8, ::1, ::ffff:127.x), when the socket is not in the
// kernel's tables as an established connection (its process closed it,
// or r came from elsewhere), and off Linux. It takes the connection's
// addresses from ConnContext, else from r (RemoteAddr and
// http.LocalAddrContextKey).
func Owner(r *http.Request) (uid int, ok bool) {
	p, _ := r.Context().Value(ctxKey{}).(*peer)
	if p == nil {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		client, _ := netip.ParseAddrPort(r.RemoteAddr)
		p = &peer{client: client, server: addrPort(local)}
	}
	p.once.Do(p.look)
	return p.uid, p.ok
}

// look finds p's owner, when p's client is on loopback.
func (p *peer) look() {
	client, server := unmap(p.client), unmap(p.server)
	if !client.IsValid() || !server.IsValid() || !client.Addr().IsLoopback() {
		return
	}
	uid, ok, err := lookup(client, server)
	p.uid, p.ok = int(uid), ok && err == nil
}

// addrPort is a's address and port; the zero AddrPort when a is not TCP.
func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

// unmap is ap with an IPv4-mapped IPv6 address as IPv4, and no zone.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}
