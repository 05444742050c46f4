package wsconn

import (
	"context"
	"crypto/tls"
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
	// print every frame).
	HTTPClient *http.Client
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
	d := &websocket.DialOptions{HTTPHeader: opts.Header, HTTPClient: opts.HTTPClient, Host: opts.Header.Get("Host")}
	if d.HTTPClient == nil && opts.TLS != nil {
		d.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: opts.TLS}}
	}
	ws, resp, err := websocket.Dial(ctx, url, d)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{Response: resp, Err: err}
		}
		return nil, err
	}
	return wrap(ws, opts.Options), nil
}
