package artifact

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"tether/internal/atomicfile"
)

// File name suffixes of a key pair: NAME.key (private, mode 0600) and
// NAME.pub (public), both PEM (PKCS #8 and PKIX, as openssl writes them).
const (
	PrivateSuffix = ".key"
	PublicSuffix  = ".pub"
)

// KeyID names a public key in a signature and in messages: the first 16
// hex digits of the SHA-256 of its PKIX encoding.
func KeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // an ed25519 key always marshals
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// GenerateKeys makes an ed25519 key pair in dir as name.key (0600) and
// name.pub, refusing to replace either, and returns their paths and the
// key's id.
func GenerateKeys(dir, name string) (priv, pub, id string, err error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", "", "", fmt.Errorf("key name %q: want a file name without '/' or a leading '.'", name)
	}
	priv, pub = filepath.Join(dir, name+PrivateSuffix), filepath.Join(dir, name+PublicSuffix)
	for _, p := range []string{priv, pub} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", "", fmt.Errorf("make keys: %s exists: keys are never replaced (move it away, or pick another --name)", p)
		}
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", fmt.Errorf("make keys: %w", err)
	}
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", "", fmt.Errorf("make keys: %w", err)
	}
	if err := atomicfile.Replace(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600); err != nil {
		return "", "", "", fmt.Errorf("make keys: %w", err)
	}
	if err := atomicfile.Replace(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}), 0o644); err != nil {
		return "", "", "", fmt.Errorf("make keys: %w", err)
	}
	return priv, pub, KeyID(pk), nil
}

// LoadPrivateKey reads a signing key written by GenerateKeys. It refuses
// a key file others may read.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read signing key %s: mode %v lets others read it: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read signing key %s: want a PEM PRIVATE KEY (tether keys init makes one)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	sk, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read signing key %s: want an ed25519 key, got %T", path, k)
	}
	return sk, nil
}

// ParsePublicKey reads one PEM public key (a .pub file's contents).
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("want a PEM PUBLIC KEY (the .pub file tether keys init makes)")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pk, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("want an ed25519 key, got %T", k)
	}
	return pk, nil
}

// Keyring is the set of public keys a device trusts, by KeyID. The zero
// value trusts nothing.
type Keyring struct {
	keys map[string]ed25519.PublicKey
}

// NewKeyring trusts the keys given.
func NewKeyring(keys ...ed25519.PublicKey) *Keyring {
	kr := &Keyring{keys: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		kr.keys[KeyID(k)] = k
	}
	return kr
}

// LoadKeyring reads every *.pub file in dir. A missing dir is an empty
// keyring; a file that is not a public key is an error naming it (a
// device must not run with fewer keys than its owner thinks).
func LoadKeyring(dir string) (*Keyring, error) {
	kr := NewKeyring()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return kr, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), PublicSuffix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read keys: %w", err)
		}
		pk, err := ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("read keys: %s: %w", p, err)
		}
		kr.keys[KeyID(pk)] = pk
	}
	return kr, nil
}

// Len is how many keys are trusted.
func (kr *Keyring) Len() int {
	if kr == nil {
		return 0
	}
	return len(kr.keys)
}

// IDs lists the trusted keys' ids, sorted.
func (kr *Keyring) IDs() []string {
	if kr == nil {
		return nil
	}
	ids := make([]string, 0, len(kr.keys))
	for id := range kr.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (kr *Keyring) key(id string) (ed25519.PublicKey, bool) {
	if kr == nil {
		return nil, false
	}
	k, ok := kr.keys[id]
	return k, ok
}
