package enroll

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tether/internal/certs"
)

// Options say how a device enrolls.
type Options struct {
	Ticket
	// ID is the device's id, its certificate's common name.
	ID string
	// CAFile, when set, is a PEM file of CAs trusted for the hub during
	// enrollment (instead of Ticket.Pin or, without either, the system's).
	CAFile string
	// Timeout bounds each request; zero means 30 s.
	Timeout time.Duration
}

// Result is what enrollment gives a device: its key (made here, never
// sent), its certificate and the hub's CA, and where to call home.
type Result struct {
	Pair *certs.Pair
	CA   *x509.Certificate
	// CAPEM is CA as PEM.
	CAPEM []byte
	// Host and Port are the hub's device endpoint.
	Host string
	Port int
}

// Enroll makes a key pair, sends a certificate request for opts.ID with
// the code to the hub and checks what comes back: a certificate for this
// key and id, signed by a CA that signed the hub's own certificate (so the
// device, pinned to it, will trust the hub when it calls home), and, with a
// pin, the CA the pin names.
func Enroll(ctx context.Context, opts Options) (*Result, error) {
	base, host, port, err := hubURL(opts.Hub)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	roots, err := trustFor(ctx, base, opts)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enroll: make key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: opts.ID}}, key)
	if err != nil {
		return nil, fmt.Errorf("enroll: make certificate request: %w", err)
	}
	body, _ := json.Marshal(Request{Code: opts.Code, CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))})
	resp, state, err := post(ctx, base+PathEnroll, body, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, opts.Timeout)
	if err != nil {
		return nil, err
	}
	res, err := check(resp, key, opts)
	if err != nil {
		return nil, err
	}
	if _, err := state.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: poolOf(res.CA), Intermediates: intermediates(state)}); err != nil {
		return nil, fmt.Errorf("enroll: the hub's own certificate is not signed by the CA it gave (%v): calling home pinned to that CA would fail; the hub's --tls-cert must come from its --enroll-ca", err)
	}
	res.Host, res.Port = host, port
	return res, nil
}

// hubURL turns the hub's device endpoint (wss://host:port, https://..., or
// host:port) into the https:// base of its enrollment paths.
func hubURL(hub string) (base, host string, port int, err error) {
	if !strings.Contains(hub, "://") {
		hub = "wss://" + hub
	}
	u, err := url.Parse(hub)
	if err != nil || u.Host == "" {
		return "", "", 0, fmt.Errorf("enroll: hub %q: want wss://HOST:PORT, the hub's device endpoint", hub)
	}
	if u.Scheme != "wss" && u.Scheme != "https" {
		return "", "", 0, fmt.Errorf("enroll: hub %q: want wss:// (enrollment and client certificates need TLS)", hub)
	}
	h, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		h, p = u.Host, "443"
	}
	if _, err := fmt.Sscan(p, &port); err != nil || port < 1 || port > 65535 {
		return "", "", 0, fmt.Errorf("enroll: hub %q: bad port %q", hub, p)
	}
	return "https://" + net.JoinHostPort(h, p), h, port, nil
}

// trustFor returns the CAs trusted for the hub during enrollment: the CA
// the pin names (fetched from the hub, then checked against the pin), the
// CAFile's, or the system's (nil).
func trustFor(ctx context.Context, base string, opts Options) (*x509.CertPool, error) {
	switch {
	case opts.Pin != "":
		if err := checkPin(opts.Pin); err != nil {
			return nil, fmt.Errorf("enroll: CA pin: %w", err)
		}
		b, _, err := get(ctx, base+PathCA, &tls.Config{InsecureSkipVerify: true}, opts.Timeout) // checked against the pin below
		if err != nil {
			return nil, err
		}
		ca, err := parseCert(b)
		if err != nil {
			return nil, fmt.Errorf("enroll: the hub's CA: %w", err)
		}
		if got := CAPin(ca); got != opts.Pin {
			return nil, fmt.Errorf("enroll: the hub's CA is %s, want %s: not the hub the code was made on", got, opts.Pin)
		}
		return poolOf(ca), nil
	case opts.CAFile != "":
		return certs.LoadPool(opts.CAFile)
	}
	return nil, nil
}

// check reads the hub's answer and checks the certificate against key and
// opts, and the CA against the pin.
func check(b []byte, key *ecdsa.PrivateKey, opts Options) (*Result, error) {
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("enroll: the hub's answer: %w", err)
	}
	cert, err := parseCert([]byte(r.Cert))
	if err != nil {
		return nil, fmt.Errorf("enroll: the certificate: %w", err)
	}
	ca, err := parseCert([]byte(r.CA))
	if err != nil {
		return nil, fmt.Errorf("enroll: the hub's CA: %w", err)
	}
	switch {
	case !key.PublicKey.Equal(cert.PublicKey):
		return nil, errors.New("enroll: the certificate is not for this device's key")
	case cert.Subject.CommonName != opts.ID:
		return nil, fmt.Errorf("enroll: the certificate is for %q, want %q", cert.Subject.CommonName, opts.ID)
	case opts.Pin != "" && CAPin(ca) != opts.Pin:
		return nil, fmt.Errorf("enroll: the hub gave CA %s, want %s", CAPin(ca), opts.Pin)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: poolOf(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("enroll: the certificate is not signed by the hub's CA: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("enroll: encode key: %w", err)
	}
	pair := &certs.Pair{Cert: cert, Key: key, CertPEM: []byte(r.Cert),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
	return &Result{Pair: pair, CA: ca, CAPEM: []byte(r.CA)}, nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New(`want a PEM "CERTIFICATE"`)
	}
	return x509.ParseCertificate(block.Bytes)
}

func poolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

func intermediates(state *tls.ConnectionState) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		p.AddCert(c)
	}
	return p
}

// get and post do one request and return a 200's body and the TLS state;
// another status is an error holding the hub's {"error": ...}.
func get(ctx context.Context, u string, cfg *tls.Config, timeout time.Duration) ([]byte, *tls.ConnectionState, error) {
	return do(ctx, http.MethodGet, u, nil, cfg, timeout)
}

func post(ctx context.Context, u string, body []byte, cfg *tls.Config, timeout time.Duration) ([]byte, *tls.ConnectionState, error) {
	return do(ctx, http.MethodPost, u, body, cfg, timeout)
}

func do(ctx context.Context, method, u string, body []byte, cfg *tls.Config, timeout time.Duration) ([]byte, *tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("enroll: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("enroll: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("enroll: %s %s: %w", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return nil, nil, fmt.Errorf("enroll: the hub refused (%s): %s", resp.Status, e.Error)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, nil, errors.New("enroll: not over TLS")
	}
	return b, resp.TLS, nil
}
