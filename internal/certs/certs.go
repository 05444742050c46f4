// Package certs makes and loads the X.509 material tether uses over TLS: a
// certificate authority, server certificates for hubs and devices, and
// per-device client certificates whose common name is the device id.
//
// Every key is ECDSA P-256, written as PKCS#8 PEM ("PRIVATE KEY") with mode
// 0600; certificates are PEM ("CERTIFICATE") with mode 0644. Files are
// written atomically and never replace an existing file unless asked to.
// ClientTLS and ServerTLS turn those files into tls.Configs, with errors
// that name the file and what is wrong with it.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"tether/internal/deviceid"
)

// Default validity periods, in days.
const (
	DefaultCADays   = 3650
	DefaultLeafDays = 825
)

// DefaultCAName is the CA's common name when CAOptions.Name is empty.
const DefaultCAName = "tether CA"

// clockSkew backdates NotBefore so a peer whose clock lags a little still
// accepts a certificate made a moment ago.
const clockSkew = 5 * time.Minute

// Pair is a certificate with its private key, parsed and as PEM.
type Pair struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// Fingerprint returns the SHA-256 of the certificate's DER as colon-separated
// upper-case hex, as openssl x509 -fingerprint -sha256 prints it.
func (p *Pair) Fingerprint() string { return Fingerprint(p.Cert) }

// Fingerprint returns the SHA-256 of cert's DER as colon-separated hex.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// CAOptions says how to make a CA. The zero value makes "tether CA", valid
// for DefaultCADays from now.
type CAOptions struct {
	Name string    // common name; empty means DefaultCAName
	Days int       // validity in days; zero means DefaultCADays
	Now  time.Time // start of validity; zero means time.Now()
}

// ServerOptions says how to make a server certificate. At least one name or
// IP is required; the first becomes the common name.
type ServerOptions struct {
	Names []string  // DNS SANs
	IPs   []net.IP  // IP SANs
	Days  int       // validity in days; zero means DefaultLeafDays
	Now   time.Time // start of validity; zero means time.Now()
}

// DeviceOptions says how to make a device client certificate.
type DeviceOptions struct {
	ID   string    // device id, the common name; see ValidDeviceID
	Days int       // validity in days; zero means DefaultLeafDays
	Now  time.Time // start of validity; zero means time.Now()
}

// NewCA makes a self-signed CA (BasicConstraints CA:true, path length 0,
// KeyUsage CertSign and CRLSign).
func NewCA(opts CAOptions) (*Pair, error) {
	name := opts.Name
	if name == "" {
		name = DefaultCAName
	}
	tmpl, err := template(name, opts.Days, DefaultCADays, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("make CA: %w", err)
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	p, err := Sign(tmpl, nil)
	if err != nil {
		return nil, fmt.Errorf("make CA: %w", err)
	}
	return p, nil
}

// Server makes a certificate signed by ca for TLS servers (ExtKeyUsage
// serverAuth) with opts' names and IPs as SANs. Its validity is cut to the
// CA's when it would outlive it.
func Server(ca *Pair, opts ServerOptions) (*Pair, error) {
	if len(opts.Names) == 0 && len(opts.IPs) == 0 {
		return nil, errors.New("make server certificate: no names or IPs, want at least one")
	}
	cn := ""
	if len(opts.Names) > 0 {
		cn = opts.Names[0]
	} else {
		cn = opts.IPs[0].String()
	}
	for _, n := range opts.Names {
		if n == "" || strings.ContainsAny(n, " /\\:") {
			return nil, fmt.Errorf("make server certificate: name %q: want a DNS name", n)
		}
	}
	tmpl, err := template(cn, opts.Days, DefaultLeafDays, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("make server certificate: %w", err)
	}
	tmpl.DNSNames = append([]string(nil), opts.Names...)
	tmpl.IPAddresses = append([]net.IP(nil), opts.IPs...)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	p, err := Sign(tmpl, ca)
	if err != nil {
		return nil, fmt.Errorf("make server certificate: %w", err)
	}
	return p, nil
}

// Device makes a client certificate signed by ca (ExtKeyUsage clientAuth)
// whose common name is the device id.
func Device(ca *Pair, opts DeviceOptions) (*Pair, error) {
	if err := ValidDeviceID(opts.ID); err != nil {
		return nil, fmt.Errorf("make device certificate: %w", err)
	}
	tmpl, err := template(opts.ID, opts.Days, DefaultLeafDays, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("make device certificate: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	p, err := Sign(tmpl, ca)
	if err != nil {
		return nil, fmt.Errorf("make device certificate: %w", err)
	}
	return p, nil
}

// ValidDeviceID reports whether id can name a device: it is used as a
// common name, a file name and a URL path segment, so it follows the one
// rule for device ids (package deviceid) that the config and the hub follow.
func ValidDeviceID(id string) error {
	if err := deviceid.Check(id); err != nil {
		return fmt.Errorf("device id: %w", err)
	}
	return nil
}

// PeerID returns the common name of the verified client certificate of a
// TLS connection (a device id, for certificates made by Device), or "" when
// the peer presented none.
func PeerID(chains [][]*x509.Certificate) string {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return ""
	}
	return chains[0][0].Subject.CommonName
}

func template(cn string, days, defaultDays int, now time.Time) (*x509.Certificate, error) {
	if days < 0 {
		return nil, fmt.Errorf("validity: got %d days, want a positive number", days)
	}
	if days == 0 {
		days = defaultDays
	}
	if now.IsZero() {
		now = time.Now()
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-clockSkew).UTC(),
		NotAfter:     now.AddDate(0, 0, days).UTC(),
	}, nil
}

// Sign makes an ECDSA P-256 key for tmpl and signs tmpl with parent, or
// self-signs it when parent is nil. tmpl's validity is cut to parent's. It
// is how every certificate tether makes is made: by the CA commands here and
// by a device's first-boot self-signed certificate (package devtls).
func Sign(tmpl *x509.Certificate, parent *Pair) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	parentCert, signer := tmpl, key
	if parent != nil {
		if !parent.Cert.IsCA {
			return nil, fmt.Errorf("sign: %q is not a CA certificate", parent.Cert.Subject.CommonName)
		}
		parentCert, signer = parent.Cert, parent.Key
		if tmpl.NotAfter.After(parent.Cert.NotAfter) {
			tmpl.NotAfter = parent.Cert.NotAfter
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return &Pair{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// DeviceForKey makes a client certificate signed by ca (ExtKeyUsage
// clientAuth) for the public key pub of a key the device keeps (enrollment:
// the key never leaves the device), whose common name is the device id.
// It returns the certificate and its PEM.
func DeviceForKey(ca *Pair, pub crypto.PublicKey, opts DeviceOptions) (*x509.Certificate, []byte, error) {
	if err := ValidDeviceID(opts.ID); err != nil {
		return nil, nil, fmt.Errorf("make device certificate: %w", err)
	}
	if !ca.Cert.IsCA {
		return nil, nil, fmt.Errorf("make device certificate: %q is not a CA certificate", ca.Cert.Subject.CommonName)
	}
	tmpl, err := template(opts.ID, opts.Days, DefaultLeafDays, opts.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("make device certificate: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("make device certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
