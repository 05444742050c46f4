package hub

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Auth is the hub's credentials file (--auth):
//
//	{"devices": {"<id>": {"token": "..."}}, "pages": [{"token": "..."}]}
//
// A token written "sha256:<hex>" is stored as the SHA-256 of the token and
// compared as a hash, so the file need not hold the secret itself.
type Auth struct {
	Devices map[string]Token `json:"devices"`
	Pages   []Token          `json:"pages"`
}

// Token is one accepted token.
type Token struct {
	Token string `json:"token"`
}

// Match reports whether presented is this token (in constant time).
func (t Token) Match(presented string) bool {
	if presented == "" || t.Token == "" {
		return false
	}
	if hexHash, ok := strings.CutPrefix(t.Token, "sha256:"); ok {
		want, err := hex.DecodeString(hexHash)
		if err != nil {
			return false
		}
		got := sha256.Sum256([]byte(presented))
		return subtle.ConstantTimeCompare(got[:], want) == 1
	}
	return subtle.ConstantTimeCompare([]byte(presented), []byte(t.Token)) == 1
}

func (t Token) check() error {
	if t.Token == "" {
		return errors.New("empty token")
	}
	if h, ok := strings.CutPrefix(t.Token, "sha256:"); ok {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("sha256 token: want 64 hex digits, got %q", h)
		}
	}
	return nil
}

// LoadAuth reads and checks an auth file.
func LoadAuth(path string) (*Auth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read auth file: %w", err)
	}
	return ParseAuth(b, path)
}

// ParseAuth decodes and checks an auth file's contents; name is used in errors.
func ParseAuth(b []byte, name string) (*Auth, error) {
	var a Auth
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: %w (want {\"devices\": {\"<id>\": {\"token\": \"...\"}}, \"pages\": [{\"token\": \"...\"}]})", name, err)
	}
	for id, t := range a.Devices {
		if err := ValidID(id); err != nil {
			return nil, fmt.Errorf("%s: devices.%s: %w", name, id, err)
		}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%s: devices.%s.token: %w", name, id, err)
		}
	}
	for i, t := range a.Pages {
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%s: pages[%d].token: %w", name, i, err)
		}
	}
	return &a, nil
}

// Errors of authentication, sent as the body of a 401.
var (
	errNoCredentials  = errors.New("unauthorized: no credentials (send Authorization: Bearer <token>)")
	errBadCredentials = errors.New("unauthorized: wrong credentials")
	errUnknownDevice  = errors.New("unauthorized: device not in the hub's auth file")
	errNoClientCert   = errors.New("unauthorized: no client certificate")
	errCertName       = errors.New("unauthorized: client certificate common name is not the device id")
)

func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// authDevice checks a device's credentials: its client certificate when the
// hub has a client CA, its token when the hub has an auth file.
func (h *Hub) authDevice(r *http.Request, id string) error {
	if h.opts.ClientCAs != nil && h.opts.TLS != nil {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return errNoClientCert
		}
		if r.TLS.PeerCertificates[0].Subject.CommonName != id {
			return fmt.Errorf("%w: got %q, want %q", errCertName, r.TLS.PeerCertificates[0].Subject.CommonName, id)
		}
	}
	if h.opts.Auth == nil {
		return nil
	}
	tok := bearer(r)
	if tok == "" {
		return errNoCredentials
	}
	t, ok := h.opts.Auth.Devices[id]
	if !ok {
		return errUnknownDevice
	}
	if !t.Match(tok) {
		return errBadCredentials
	}
	return nil
}

// authPage checks a page's credentials: a page token by header, or the
// session cookie the dashboard's login sets.
func (h *Hub) authPage(r *http.Request) error {
	if h.opts.Auth == nil {
		return nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && h.cookies.valid(c.Value) {
		return nil
	}
	tok := bearer(r)
	if tok == "" {
		return errNoCredentials
	}
	if !h.pageToken(tok) {
		return errBadCredentials
	}
	return nil
}

func (h *Hub) pageToken(tok string) bool {
	for _, t := range h.opts.Auth.Pages {
		if t.Match(tok) {
			return true
		}
	}
	return false
}

// refuse answers 401 and counts it.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, role, id string, err error) {
	reason := "bad_credentials"
	switch {
	case errors.Is(err, errNoCredentials), errors.Is(err, errNoClientCert):
		reason = "missing_credentials"
	case errors.Is(err, errUnknownDevice):
		reason = "unknown_device"
	case errors.Is(err, errCertName):
		reason = "certificate_name"
	}
	h.metrics.authFailures.WithLabelValues(role, reason).Inc()
	h.warnings.Warn(role+" refused", "device", id, "remote", r.RemoteAddr, "err", err)
	w.Header().Set("WWW-Authenticate", `Bearer realm="tether hub"`)
	http.Error(w, err.Error(), http.StatusUnauthorized)
}

// sessionCookie is the dashboard login's cookie.
const sessionCookie = "tether_session"

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 12 * time.Hour

// cookieSigner makes and checks session cookies: an expiry time and its
// HMAC under a key made at start (a hub restart logs everyone out).
type cookieSigner struct{ key []byte }

func newCookieSigner() *cookieSigner {
	k := make([]byte, 32)
	rand.Read(k)
	return &cookieSigner{key: k}
}

func (s *cookieSigner) mac(exp string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *cookieSigner) make(now time.Time) string {
	exp := strconv.FormatInt(now.Add(sessionTTL).Unix(), 10)
	return exp + "." + s.mac(exp)
}

func (s *cookieSigner) valid(v string) bool {
	exp, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac(exp))) {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && time.Now().Unix() < n
}
