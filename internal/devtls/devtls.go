// Package devtls is the TLS of the device's own servers (the demo app's page
// and command API, the echoserver, the recovery page): it finds the
// certificate and key in the device root (certs/server.crt and
// certs/server.key, what `tether certs server --dir ROOT/certs` writes),
// makes a self-signed one on first boot when TLS is asked for and there is
// none, checks what it loads (both halves present, the key readable by its
// owner only, not expired, the key matching the certificate) with errors
// naming the file, and serves TLS on a listener that answers plain HTTP
// with a clear refusal or a redirect instead of a hang.
//
// Whether TLS is on follows one rule for every app (Setup): a tls section
// in app.json decides ("enabled": true or false); without one, TLS is on
// exactly when certs/server.crt or certs/server.key exists. A root without
// certs/ therefore serves plain HTTP, as the seed did. It never overwrites a
// key. docs/TLS.md is the reference.
package devtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"tether/internal/certs"
	"tether/internal/config"
)

// Files of the device root, relative to it.
const (
	// Dir holds the device's certificates.
	Dir = "certs"
	// CertFile is the server certificate, PEM (tether certs server's
	// server.crt).
	CertFile = "certs/server.crt"
	// KeyFile is its private key, PEM, mode 0600 (server.key).
	KeyFile = "certs/server.key"
)

// Sentinel errors, wrapped in a *certs.FileError naming the file. The
// certificate problems certs.LoadPair finds (certs.ErrExpired,
// certs.ErrNotYetValid, certs.ErrKeyMismatch) arrive the same way.
var (
	// ErrHalfPair: one of the certificate and key exists, the other not.
	ErrHalfPair = errors.New("missing")
	// ErrKeyExposed: the key file can be read or written by others than
	// its owner.
	ErrKeyExposed = errors.New("private key open to others")
	// ErrNoRoot: TLS asked for without a device root to keep the
	// certificate in.
	ErrNoRoot = errors.New("no device root to keep a certificate in")
)

// Options configure Setup. The zero value serves plain HTTP.
type Options struct {
	// Root is the device root; "" (embedded defaults) means no certs/ to
	// look in, so TLS only when TLS asks for it with absolute file names.
	Root string
	// TLS is the app's tls section: nil means "decide by the files",
	// Enabled false means off, Enabled true means on (making a
	// self-signed certificate at the default files when none exists).
	TLS *config.TLS
	// Section names the tls section in errors ("demo.tls"); "" means "tls".
	Section string
	// Hosts are the names and addresses a generated certificate covers;
	// zero means DefaultHosts("", "").
	Hosts Hosts
	// Logger receives the outcome (TLS on with its fingerprint, a
	// certificate made, an expiry coming); nil discards it.
	Logger *slog.Logger
	// Now is the clock for expiry checks and new certificates; nil means
	// time.Now.
	Now func() time.Time
}

// Server is the outcome of Setup.
type Server struct {
	// Config serves the certificate (HTTP/1.1 only, so WebSocket upgrades
	// work); nil when TLS is off.
	Config *tls.Config
	// Fingerprint is the certificate's SHA-256 fingerprint, colon
	// separated upper-case hex as openssl prints it; "" when off.
	Fingerprint string
	// CertFile and KeyFile are the files served; "" when off.
	CertFile, KeyFile string
	// Generated says the certificate was made by this Setup (first boot).
	Generated bool
	// Why says why TLS is off or on, for logs and pages.
	Why string
}

// On reports whether TLS is served; a nil Server is off.
func (s *Server) On() bool { return s != nil && s.Config != nil }

// Setup decides whether TLS is on, loads (or on first boot makes) the
// certificate and checks it. A nil error with a nil Config means plain
// HTTP; an error names the file and the reason (a *certs.FileError) inside
// "SECTION: ...".
func Setup(opts Options) (*Server, error) {
	section := opts.Section
	if section == "" {
		section = "tls"
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := setup(opts, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", section, err)
	}
	if !s.On() {
		log.Info("TLS off: serving plain HTTP", "why", s.Why)
		return s, nil
	}
	if s.Generated {
		log.Warn("made a self-signed TLS certificate: browsers will warn; compare the fingerprint they show with this one",
			"cert", s.CertFile, "key", s.KeyFile, "fingerprint_sha256", s.Fingerprint)
	}
	log.Info("TLS on", "cert", s.CertFile, "fingerprint_sha256", s.Fingerprint, "why", s.Why)
	if left := s.Config.Certificates[0].Leaf.NotAfter.Sub(now()); left < 30*24*time.Hour {
		log.Warn("TLS certificate expires soon", "cert", s.CertFile, "not_after", s.Config.Certificates[0].Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return s, nil
}

func setup(opts Options, now func() time.Time) (*Server, error) {
	t := opts.TLS
	if t != nil && !t.Enabled {
		return &Server{Why: "tls.enabled is false"}, nil
	}
	certFile, keyFile, defaults := files(opts.Root, t)
	if certFile == "" {
		if t != nil {
			return nil, ErrNoRoot
		}
		return &Server{Why: "no device root"}, nil
	}
	certOK, keyOK := exists(certFile), exists(keyFile)
	switch {
	case !certOK && !keyOK && t == nil:
		return &Server{Why: "no " + CertFile + " in the device root and no tls section"}, nil
	case !certOK && !keyOK && defaults:
		s, err := generate(certFile, keyFile, opts.Hosts, now())
		if err != nil {
			return nil, err
		}
		return s, nil
	case !certOK && !keyOK:
		return nil, &certs.FileError{Path: certFile, Err: fmt.Errorf("missing (a certificate is made only at the default %s): %w", CertFile, fs.ErrNotExist)}
	case !certOK:
		return nil, &certs.FileError{Path: certFile, Err: fmt.Errorf("%w: want the certificate of key %s", ErrHalfPair, keyFile)}
	case !keyOK:
		return nil, &certs.FileError{Path: keyFile, Err: fmt.Errorf("%w: want the key of certificate %s", ErrHalfPair, certFile)}
	}
	why := "tls.enabled is true"
	if t == nil {
		why = CertFile + " found in the device root"
	}
	return load(certFile, keyFile, why, now())
}

// files are the certificate and key to serve: the section's, relative to
// root, else the defaults. defaults says they are the defaults, where a
// certificate may be generated. Both are "" when there is no root to put
// relative names in.
func files(root string, t *config.TLS) (certFile, keyFile string, defaults bool) {
	certFile, keyFile = CertFile, KeyFile
	if t != nil && (t.Cert != "" || t.Key != "") {
		certFile, keyFile = t.Cert, t.Key
	}
	defaults = certFile == CertFile && keyFile == KeyFile
	abs := func(name string) string {
		if filepath.IsAbs(name) {
			return name
		}
		if root == "" || name == "" {
			return ""
		}
		return filepath.Join(root, name)
	}
	certFile, keyFile = abs(certFile), abs(keyFile)
	if certFile == "" || keyFile == "" {
		return "", "", false
	}
	return certFile, keyFile, defaults
}

// exists reports whether something is at path (a broken one is reported
// when it is read).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// load checks the key's mode, then loads the pair (expiry, match).
func load(certFile, keyFile, why string, now time.Time) (*Server, error) {
	if err := checkKeyMode(keyFile); err != nil {
		return nil, err
	}
	p, err := certs.LoadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if now.After(p.Cert.NotAfter) {
		return nil, &certs.FileError{Path: certFile, Err: fmt.Errorf("%w at %s", certs.ErrExpired, p.Cert.NotAfter.UTC().Format(time.RFC3339))}
	}
	return serverFor(p, certFile, keyFile, why), nil
}

// checkKeyMode refuses a key file that is not a regular file or that
// others than its owner may read or write.
func checkKeyMode(keyFile string) error {
	fi, err := os.Stat(keyFile)
	if err != nil {
		return &certs.FileError{Path: keyFile, Err: fmt.Errorf("unreadable: %w", err)}
	}
	if !fi.Mode().IsRegular() {
		return &certs.FileError{Path: keyFile, Err: fmt.Errorf("got a %s, want a regular file", fi.Mode().Type())}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &certs.FileError{Path: keyFile, Err: fmt.Errorf("%w: mode %04o, want 0600 (chmod 600 %s)", ErrKeyExposed, perm, keyFile)}
	}
	return nil
}

// serverFor is the TLS configuration serving p.
func serverFor(p *certs.Pair, certFile, keyFile, why string) *Server {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}},
		NextProtos:   []string{"http/1.1"}, // WebSocket upgrades need HTTP/1.1
	}
	return &Server{Config: cfg, Fingerprint: p.Fingerprint(), CertFile: certFile, KeyFile: keyFile, Why: why}
}

// listenIP is the IP of a listening address ("127.0.0.1:8080", "", ":80");
// nil for every interface ("" or an unspecified IP).
func listenIP(addr string) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}
