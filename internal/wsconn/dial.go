package wsconn

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

// DialOptions configure Dial.
type DialOptions struct {
	Options
	// Header is sent with the handshake (e.g. Authorization); a "Host"
	// entry sets the Host header.
	Header http.Header
	// TLS is used for wss:// URLs; nil means the system's defaults.
	// Ignored when HTTPClient is set.
	TLS *tls.Config
	// HTTPClient makes the handshake request; nil means one using TLS.
	// Set it to dial connections of one's own (tether ws -v wraps them to
	// print every frame); CloseNow then cannot cut a close handshake short.
	HTTPClient *http.Client
	// Subprotocols are offered in Sec-WebSocket-Protocol; the server may
	// grant one (Conn.Subprotocol) or none.
	Subprotocols []string
}

// HandshakeError is returned by Dial when the server answered without
// switching protocols. Response is the answer, with up to 1 KiB of its
// body readable.
type HandshakeError struct {
	Response *http.Response
	Err      error
}

// Error says what the server answered.
func (e *HandshakeError) Error() string { return e.Err.Error() }

// Unwrap returns the library's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// Dial connects to a ws:// or wss:// URL.
func Dial(ctx context.Context, url string, opts DialOptions) (*Conn, error) {
	d := &websocket.DialOptions{HTTPHeader: opts.Header, HTTPClient: opts.HTTPClient, Host: opts.Header.Get("Host"),
		Subprotocols: opts.Subprotocols}
	var raw net.Conn
	if d.HTTPClient == nil {
		var nd net.Dialer
		d.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: opts.TLS,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := nd.DialContext(ctx, network, addr)
				raw = c // the one connection this transport makes
				return c, err
			},
		}}
	}
	ws, resp, err := websocket.Dial(ctx, url, d)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{Response: resp, Err: err}
		}
		return nil, err
	}
	return wrap(ws, raw, opts.Options), nil
}
