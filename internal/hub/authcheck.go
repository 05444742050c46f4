package hub

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tether/internal/login"
)

// Errors of authentication, sent as the body of a 401 (403 for errNoGrant).
var (
	errNoCredentials  = errors.New("unauthorized: no credentials (send Authorization: Bearer <token>)")
	errBadCredentials = errors.New("unauthorized: wrong credentials")
	errUnknownDevice  = errors.New("unauthorized: device not in the hub's auth file") // answered as errBadCredentials
	errThrottled      = errors.New("too many wrong tokens from this address: try again in a few seconds")
	errNoClientCert   = errors.New("unauthorized: no client certificate")
	errCertName       = errors.New("unauthorized: client certificate common name is not the device id")
	errNoGrant        = errors.New("forbidden: no grant for this device")
	errNotEnrolled    = errors.New("unauthorized: certificate not enrolled for this device (revoked, or enrolled again since)")
)

// auth is the auth file in force, nil on an open hub.
func (h *Hub) auth() *authConfig { return h.authCfg.Load() }

// devCred is how a device proved who it is: by a token (kept as its
// SHA-256, to check it again when the auth file changes), an enrolled
// certificate, a weaker rule (alias, address range), or nothing (an open
// hub).
type devCred struct {
	sum      [sha256.Size]byte
	byToken  bool
	serial   *big.Int // an enrolled certificate's
	rule     string   // the weaker rule it came in by: "alias", "address range"
	viaAlias bool
	alias    []byte // the alias it came by, replaced by its id in what it sends
	aliasSum [sha256.Size]byte
}

// authDevice checks a device's credentials: an enrolled certificate; its
// client certificate when the hub has a client CA; its token, or the
// weaker rule of its entry when it sends none, when the hub has an auth
// file. viaAlias says it connected to its entry's alias.
func (h *Hub) authDevice(r *http.Request, id string, viaAlias bool) (devCred, error) {
	if cert := h.enrolledCert(r); cert != nil {
		if cert.Subject.CommonName != id {
			return devCred{}, fmt.Errorf("%w: got %q, want %q", errCertName, cert.Subject.CommonName, id)
		}
		if !h.enrolled.has(id, cert.SerialNumber) {
			return devCred{}, errNotEnrolled
		}
		return devCred{serial: cert.SerialNumber}, nil
	}
	if h.opts.ClientCAs != nil && h.opts.TLS != nil {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return devCred{}, errNoClientCert
		}
		if r.TLS.PeerCertificates[0].Subject.CommonName != id {
			return devCred{}, fmt.Errorf("%w: got %q, want %q", errCertName, r.TLS.PeerCertificates[0].Subject.CommonName, id)
		}
	}
	c := h.auth()
	if c == nil {
		return devCred{}, nil
	}
	tok := login.Bearer(r)
	if tok == "" {
		if rule, ok := c.ruleHolds(id, r.RemoteAddr, viaAlias); ok {
			alias := c.file.Devices[id].Alias
			cred := devCred{rule: rule, viaAlias: viaAlias, aliasSum: sha256.Sum256([]byte(alias))}
			if viaAlias {
				cred.alias = []byte(alias)
			}
			return cred, nil
		}
		return devCred{}, errNoCredentials
	}
	addr := login.ClientAddr(r.RemoteAddr)
	if !h.throttle.Allow(addr, time.Now()) {
		return devCred{}, errThrottled
	}
	t, ok := c.file.Devices[id]
	if !ok {
		t.Token = Token{Token: noToken} // compared all the same, so the time taken does not tell
	}
	if !t.Match(tok) || !ok {
		h.throttle.Fail(addr, time.Now())
		if !ok {
			return devCred{}, errUnknownDevice
		}
		return devCred{}, errBadCredentials
	}
	return devCred{sum: sha256.Sum256([]byte(tok)), byToken: true}, nil
}

// enrolledCert returns the client certificate of r when it was verified
// against the enrollment CA, else nil.
func (h *Hub) enrolledCert(r *http.Request) *x509.Certificate {
	if h.opts.EnrollCA == nil || r.TLS == nil {
		return nil
	}
	for _, chain := range r.TLS.VerifiedChains {
		if len(chain) > 0 && chain[len(chain)-1].Equal(h.opts.EnrollCA.Cert) {
			return chain[0]
		}
	}
	return nil
}

// noToken stands in for the token of a device id the auth file lacks.
var noToken = "sha256:" + strings.Repeat("0", 2*sha256.Size)

// authPage checks a page's credentials, a page token by header or the
// session cookie the dashboard's login sets, and returns whom they name.
func (h *Hub) authPage(r *http.Request) (*principal, error) {
	c := h.auth()
	if c == nil {
		return anyone, nil
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if ref, ok := h.sessions.Get(ck.Value, time.Now()); ok {
			if p := c.resolve(ref); p != nil {
				return p, nil
			}
			h.sessions.Revoke(ck.Value)
		}
	}
	tok := login.Bearer(r)
	if tok == "" {
		return nil, errNoCredentials
	}
	return h.checkPageToken(r, tok)
}

// checkPageToken checks a page token from r's address, throttled.
func (h *Hub) checkPageToken(r *http.Request, tok string) (*principal, error) {
	addr := login.ClientAddr(r.RemoteAddr)
	if !h.throttle.Allow(addr, time.Now()) {
		return nil, errThrottled
	}
	p := h.auth().pageToken(tok)
	if p == nil {
		h.throttle.Fail(addr, time.Now())
		return nil, errBadCredentials
	}
	return p, nil
}

// refuse answers a refused upgrade with 401 (429 when throttled, 403 without
// a grant), counts it and closes the connection. A wrong token and a
// device id the auth file lacks get the same answer.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, role, id string, err error) {
	h.metrics.authFailures.WithLabelValues(role, failureReason(err)).Inc()
	h.warnings.Warn(role+" refused", "device", id, "remote", r.RemoteAddr, "err", err)
	code, msg := refusal(err)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether hub"`)
	}
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
	case errors.Is(err, errNoGrant):
		return "no_grant"
	case errors.Is(err, errNotEnrolled):
		return "not_enrolled"
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
	case errors.Is(err, errNoGrant):
		return http.StatusForbidden, err.Error()
	}
	return http.StatusUnauthorized, err.Error()
}
