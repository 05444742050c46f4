// Package enroll is enrollment by one-time code: an operator has the hub
// make a code (Codes), a device given it makes a key pair that never
// leaves it and sends a certificate request with the code to the hub's
// device port (POST /enroll), and the hub answers with a client
// certificate signed by its CA for the device's id, and that CA, to which
// the device pins the hub from then on (Enroll, on the device).
//
// The wire: GET /enroll/ca is the CA certificate (PEM); POST /enroll takes
// a Request and answers a Response (200) or {"error": "..."} (400, 403,
// 429). A code is 16 characters of Crockford's base32 (80 random bits),
// shown in groups of four; case, dashes and spaces do not matter. The
// enrollment URI (what the QR code holds) names the hub, the code and the
// SHA-256 of the CA's certificate:
//
//	tether://enroll?hub=wss://hub.example:7770&code=K7QX-M2PA-9DTR-WJ4H&ca=sha256:<64 hex>
package enroll

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Paths on the hub's device port.
const (
	PathEnroll = "/enroll"
	PathCA     = "/enroll/ca"
)

// Request is what a device sends to POST /enroll.
type Request struct {
	Code string `json:"code"`
	// CSR is a PEM "CERTIFICATE REQUEST" whose common name is the
	// device's id.
	CSR string `json:"csr"`
}

// Response is the hub's answer to a Request that it granted.
type Response struct {
	Device string `json:"device"`
	// Cert is the device's client certificate, PEM.
	Cert string `json:"cert"`
	// CA is the hub's CA certificate (PEM): the device trusts it alone
	// for the hub from then on.
	CA string `json:"ca"`
}

// alphabet is Crockford's base32: no I, L, O or U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CodeLen is the characters of a code (5 bits each).
const CodeLen = 16

// NewCode returns a new random code, grouped "XXXX-XXXX-XXXX-XXXX".
func NewCode() string {
	var b [CodeLen]byte
	rand.Read(b[:])
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(alphabet[c&31])
	}
	return s.String()
}

// NormalCode returns a code as the hub keeps it: upper case, no dashes or
// spaces, the letters Crockford's base32 reads as digits (O, I, L) made
// digits. ok is false when it cannot be a code.
func NormalCode(code string) (string, bool) {
	var s strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(alphabet, byte(r)) < 0 {
			return "", false
		}
		s.WriteRune(r)
	}
	if s.Len() != CodeLen {
		return "", false
	}
	return s.String(), true
}

// CAPin is the SHA-256 of a certificate's DER as "sha256:<hex>", as the
// enrollment URI names the hub's CA.
func CAPin(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// URI is the enrollment URI of a hub, a code and the hub's CA pin.
func URI(hub, code, pin string) string {
	q := url.Values{"hub": {hub}, "code": {code}}
	if pin != "" {
		q.Set("ca", pin)
	}
	return "tether://enroll?" + q.Encode()
}

// Ticket is what a device needs to enroll: the hub's device endpoint, the
// code, and (optional) the pin of the hub's CA.
type Ticket struct {
	Hub  string
	Code string
	Pin  string
}

// NewTicket is what a person gives a device to enroll it: code is the code
// itself, with hub (the hub's device endpoint) and pin (the CA's pin, may
// be ""), or the whole enrollment URI (tether://enroll?...), which holds
// all three and wins over hub and pin. What a person typed is trimmed.
func NewTicket(hub, code, pin string) (Ticket, error) {
	hub, code, pin = strings.TrimSpace(hub), strings.TrimSpace(code), strings.TrimSpace(pin)
	if code == "" {
		return Ticket{}, errors.New("want a code, or an enrollment URI tether://enroll?...")
	}
	if strings.HasPrefix(code, "tether:") {
		return ParseURI(code)
	}
	if hub == "" {
		return Ticket{}, errors.New("want the hub's device endpoint (wss://HOST:PORT) beside a code, or the whole enrollment URI")
	}
	if pin != "" {
		if err := checkPin(pin); err != nil {
			return Ticket{}, fmt.Errorf("CA pin: %w", err)
		}
	}
	return Ticket{Hub: hub, Code: code, Pin: pin}, nil
}

// ParseURI reads an enrollment URI.
func ParseURI(s string) (Ticket, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "tether" || u.Opaque != "enroll" && u.Host != "enroll" {
		return Ticket{}, fmt.Errorf("enrollment URI %q: want tether://enroll?hub=...&code=...", s)
	}
	q := u.Query()
	t := Ticket{Hub: q.Get("hub"), Code: q.Get("code"), Pin: q.Get("ca")}
	if t.Hub == "" || t.Code == "" {
		return Ticket{}, errors.New("enrollment URI: want both hub= and code=")
	}
	if t.Pin != "" {
		if err := checkPin(t.Pin); err != nil {
			return Ticket{}, fmt.Errorf("enrollment URI: ca=: %w", err)
		}
	}
	return t, nil
}

// checkPin checks a CA pin's form.
func checkPin(pin string) error {
	h, ok := strings.CutPrefix(pin, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
		return fmt.Errorf("want sha256:<64 hex digits>, got %q", pin)
	}
	return nil
}
