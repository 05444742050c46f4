package enroll

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"tether/internal/certs"
	"tether/internal/deviceid"
)

// ErrBadRequest wraps what is wrong with a certificate request.
var ErrBadRequest = errors.New("bad certificate request")

// ParseCSR reads a device's certificate request (PEM) and checks it: its
// signature (the device holds the key), its key (ECDSA P-256 or P-384,
// Ed25519, or RSA of 2048 bits or more) and its common name (a device id).
func ParseCSR(csrPEM string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("%w: want a PEM \"CERTIFICATE REQUEST\"", ErrBadRequest)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadRequest, err)
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := deviceid.Check(csr.Subject.CommonName); err != nil {
		return nil, fmt.Errorf("%w: common name: want the device id: %v", ErrBadRequest, err)
	}
	return csr, nil
}

func checkKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return errors.New("key: want ECDSA P-256 or P-384")
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("key: RSA of %d bits, want at least 2048", k.N.BitLen())
		}
	default:
		return fmt.Errorf("key: got %T, want ECDSA, Ed25519 or RSA", pub)
	}
	return nil
}

// Issue signs a checked request with the hub's CA: a client certificate
// for the request's key and device id, valid certs.DefaultLeafDays.
func Issue(ca *certs.Pair, csr *x509.CertificateRequest, now time.Time) (*x509.Certificate, []byte, error) {
	return certs.DeviceForKey(ca, csr.PublicKey, certs.DeviceOptions{ID: csr.Subject.CommonName, Now: now})
}
