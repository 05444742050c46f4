package wsclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"tether/internal/wsconn"
)

// dial opens the WebSocket connection. With Verbose, every connection the
// handshake makes is wrapped in a loggingConn (over TLS for wss://, so the
// log shows plaintext), which prints the handshake and each frame.
func dial(ctx context.Context, url string, o Options, con *console) (*wsconn.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	wrap := func(c net.Conn) net.Conn { return c }
	if o.Verbose {
		wrap = func(c net.Conn) net.Conn { return newLoggingConn(c, con.info) }
	}
	d := &net.Dialer{}
	tr := &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialTLS(ctx, d, network, addr, o.TLS)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		},
	}
	defer tr.CloseIdleConnections()
	c, err := wsconn.Dial(ctx, url, wsconn.DialOptions{
		Options:    wsconn.Options{ReadLimit: o.MaxMessage, WriteTimeout: writeTimeout},
		Header:     o.Header,
		HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		return nil, dialError(url, err)
	}
	return c, nil
}

func dialTLS(ctx context.Context, d *net.Dialer, network, addr string, cfg *tls.Config) (net.Conn, error) {
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// dialError says why the connection could not be made, in the user's terms:
// the network error, the TLS problem with a hint, or the server's answer.
func dialError(url string, err error) error {
	var opErr *net.OpError
	var verr *tls.CertificateVerificationError
	var herr *wsconn.HandshakeError
	switch {
	case errors.As(err, &verr):
		return fmt.Errorf("dial %s: TLS: %w (trust its CA with --ca FILE, or skip checks with --insecure)", url, verr)
	case errors.As(err, &opErr):
		return fmt.Errorf("dial %s: %w", url, opErr)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("dial %s: no answer in time: %w", url, context.DeadlineExceeded)
	case errors.As(err, &herr):
		return fmt.Errorf("dial %s: server answered %q, want 101 Switching Protocols%s", url, herr.Response.Status, bodyHint(herr.Response))
	}
	return fmt.Errorf("dial %s: %w", url, err)
}

func bodyHint(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return fmt.Sprintf(": %q", s)
}
