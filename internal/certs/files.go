package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Sentinel errors a caller may branch on with errors.Is; they arrive
// wrapped in a *FileError naming the file.
var (
	ErrExists      = errors.New("already exists (use --force to replace it)")
	ErrExpired     = errors.New("certificate expired")
	ErrNotYetValid = errors.New("certificate not valid yet")
	ErrKeyMismatch = errors.New("key does not match certificate")
)

// FileError is a problem with one file: Path names it, Err says what is
// wrong (missing, unreadable, bad PEM, key mismatch, expired...).
type FileError struct {
	Path string
	Err  error
}

// Error gives the file and what is wrong with it.
func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason, for errors.Is (fs.ErrNotExist, ErrExpired...).
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(path string, format string, args ...any) error {
	return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
}

// Paths returns the certificate and key file names for name in dir
// (dir/name.crt, dir/name.key).
func Paths(dir, name string) (certFile, keyFile string) {
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
}

// Write writes p as dir/name.crt (0644) and dir/name.key (0600), creating
// dir (0700) when missing. Unless force is set it writes nothing when either
// file exists, and the error names the file and wraps ErrExists. Each file is
// written to a temporary file, synced and then moved into place.
func (p *Pair) Write(dir, name string, force bool) (certFile, keyFile string, err error) {
	certFile, keyFile = Paths(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create folder: %w", err)
	}
	if !force {
		for _, f := range []string{keyFile, certFile} {
			if _, err := os.Lstat(f); err == nil {
				return "", "", &FileError{Path: f, Err: ErrExists}
			}
		}
	}
	if err := writeFile(keyFile, p.KeyPEM, 0o600, force); err != nil {
		return "", "", err
	}
	if err := writeFile(certFile, p.CertPEM, 0o644, force); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// writeFile writes data to path through a synced temporary file in the same
// folder; without force, it links the file into place, which fails rather
// than replace an existing file.
func writeFile(path string, data []byte, mode os.FileMode, force bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if force {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			return &FileError{Path: path, Err: ErrExists}
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// LoadCA loads dir/ca.crt and dir/ca.key and checks that they are a CA.
func LoadCA(dir string) (*Pair, error) {
	certFile, keyFile := Paths(dir, "ca")
	p, err := LoadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if !p.Cert.IsCA {
		return nil, fileErr(certFile, "not a CA certificate (no BasicConstraints CA:true)")
	}
	return p, nil
}

// LoadPair loads a certificate and its private key (PKCS#8 "PRIVATE KEY" or
// SEC 1 "EC PRIVATE KEY") and checks that they match and that the
// certificate is valid now.
func LoadPair(certFile, keyFile string) (*Pair, error) {
	certPEM, cert, err := readCert(certFile)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(certFile, cert, time.Now()); err != nil {
		return nil, err
	}
	keyPEM, signer, err := readKey(keyFile, certFile, cert)
	if err != nil {
		return nil, err
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fileErr(keyFile, "bad key: got %T, want an ECDSA key", signer)
	}
	return &Pair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// LoadPool reads every certificate in a PEM file into a pool, for trusting a
// CA; it fails when the file holds none or one of them has expired.
func LoadPool(file string) (*x509.CertPool, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fileErr(file, "bad certificate: %w", err)
		}
		if err := checkValidity(file, cert, time.Now()); err != nil {
			return nil, err
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fileErr(file, `bad PEM: no "CERTIFICATE" block`)
	}
	return pool, nil
}

func readFile(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &FileError{Path: file, Err: fmt.Errorf("missing: %w", fs.ErrNotExist)}
	case err != nil:
		return nil, fileErr(file, "unreadable: %w", err)
	}
	return data, nil
}

func readCert(file string) ([]byte, *x509.Certificate, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fileErr(file, `bad PEM: want a "CERTIFICATE" block%s`, gotBlock(block))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fileErr(file, "bad certificate: %w", err)
	}
	return data, cert, nil
}

// readKey reads a private key (PKCS#8, SEC 1 or PKCS#1) and checks that it
// is the key of cert, read from certFile.
func readKey(file, certFile string, cert *x509.Certificate) ([]byte, crypto.Signer, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fileErr(file, `bad PEM: want a "PRIVATE KEY" block`)
	}
	var parsed any
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, nil, fileErr(file, `bad PEM: want a "PRIVATE KEY" block%s`, gotBlock(block))
	}
	if err != nil {
		return nil, nil, fileErr(file, "bad key: %w", err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, nil, fileErr(file, "bad key: got %T, want a signing key", parsed)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, &FileError{Path: file, Err: fmt.Errorf("%w %s", ErrKeyMismatch, certFile)}
	}
	return data, key, nil
}

func gotBlock(b *pem.Block) string {
	if b == nil {
		return ", got none"
	}
	return fmt.Sprintf(", got %q", b.Type)
}

func checkValidity(file string, cert *x509.Certificate, now time.Time) error {
	if now.After(cert.NotAfter) {
		return &FileError{Path: file, Err: fmt.Errorf("%w at %s", ErrExpired, cert.NotAfter.UTC().Format(time.RFC3339))}
	}
	if now.Before(cert.NotBefore) {
		return &FileError{Path: file, Err: fmt.Errorf("%w until %s", ErrNotYetValid, cert.NotBefore.UTC().Format(time.RFC3339))}
	}
	return nil
}
