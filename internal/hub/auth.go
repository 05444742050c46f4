package hub

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"tether/internal/login"
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
	errUnknownDevice  = errors.New("unauthorized: device not in the hub's auth file") // answered as errBadCredentials
	errThrottled      = errors.New("too many wrong tokens from this address: try again in a few seconds")
	errNoClientCert   = errors.New("unauthorized: no client certificate")
	errCertName       = errors.New("unauthorized: client certificate common name is not the device id")
)

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
	tok := login.Bearer(r)
	if tok == "" {
		return errNoCredentials
	}
	addr := login.ClientAddr(r.RemoteAddr)
	if !h.throttle.Allow(addr, time.Now()) {
		return errThrottled
	}
	t, ok := h.opts.Auth.Devices[id]
	if !ok {
		t = noToken // compared all the same, so the time taken does not tell
	}
	if !t.Match(tok) || !ok {
		h.throttle.Fail(addr, time.Now())
		if !ok {
			return errUnknownDevice
		}
		return errBadCredentials
	}
	return nil
}

// noToken stands in for the token of a device id the auth file lacks.
var noToken = Token{Token: "sha256:" + strings.Repeat("0", 2*sha256.Size)}

// authPage checks a page's credentials: a page token by header, or the
// session cookie the dashboard's login sets.
func (h *Hub) authPage(r *http.Request) error {
	if h.opts.Auth == nil {
		return nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && h.sessions.Valid(c.Value, time.Now()) {
		return nil
	}
	tok := login.Bearer(r)
	if tok == "" {
		return errNoCredentials
	}
	return h.checkPageToken(r, tok)
}

// checkPageToken checks a page token from r's address, throttled.
func (h *Hub) checkPageToken(r *http.Request, tok string) error {
	addr := login.ClientAddr(r.RemoteAddr)
	if !h.throttle.Allow(addr, time.Now()) {
		return errThrottled
	}
	if !h.pageToken(tok) {
		h.throttle.Fail(addr, time.Now())
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

// refuse answers a refused upgrade with 401 (429 when throttled), counts
// it and closes the connection. A wrong token and a device id the auth
// file lacks get the same answer.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, role, id string, err error) {
	h.metrics.authFailures.WithLabelValues(role, failureReason(err)).Inc()
	h.warnings.Warn(role+" refused", "device", id, "remote", r.RemoteAddr, "err", err)
	code, msg := refusal(err)
	w.Header().Set("WWW-Authenticate", `Bearer realm="tether hub"`)
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(throttleEvery.Seconds())))
	}
	refuseUpgrade(w, code, msg)
}

// failureReason is err's reason label in tether_hub_auth_failures_total.
func failureReason(err error) string {
	switch {
	case errors.Is(err, errNoCredentials), errors.Is(err, errNoClientCert):
		return "missing_credentials"
	case errors.Is(err, errUnknownDevice):
		return "unknown_device"
	case errors.Is(err, errCertName):
		return "certificate_name"
	case errors.Is(err, errThrottled):
		return "throttled"
	}
	return "bad_credentials"
}

// refusal is the status and text a refused request is answered with.
func refusal(err error) (int, string) {
	switch {
	case errors.Is(err, errThrottled):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, errUnknownDevice):
		return http.StatusUnauthorized, errBadCredentials.Error()
	}
	return http.StatusUnauthorized, err.Error()
}
