package artifact

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Reasons an artifact is refused, for callers that branch on them.
var (
	// ErrNoKeys: the device trusts no key, so it takes no update.
	ErrNoKeys = errors.New("no trusted keys: updates are refused until a public key is in the device root's keys/ folder")
	// ErrUntrusted: signed with a key the device does not trust.
	ErrUntrusted = errors.New("signed with a key this device does not trust")
	// ErrBadSignature: the signature does not match the manifest.
	ErrBadSignature = errors.New("bad signature: the manifest is not what was signed")
	// ErrCorrupt: not an artifact, cut short, or a payload that is not
	// what the manifest says.
	ErrCorrupt = errors.New("not a whole artifact")
)

// Verify reads a whole artifact from r and returns its manifest and the
// id of the key that signed it, once everything holds: the layout, the
// signature (by a key in keys), the manifest, and the payload's size and
// SHA-256. The payload is copied to sink as it is read (io.Discard to only
// check); what sink got may be trusted only when Verify returns nil.
func Verify(r io.Reader, keys *Keyring, sink io.Writer) (*Manifest, string, error) {
	if keys.Len() == 0 {
		return nil, "", ErrNoKeys
	}
	return read(r, keys, sink)
}

// Inspect is Verify without the signature check, for the hub, which
// stores and serves artifacts it cannot judge: the devices do. The
// signature entry must still be there and well-formed.
func Inspect(r io.Reader, sink io.Writer) (*Manifest, string, error) {
	return read(r, nil, sink)
}

func read(r io.Reader, keys *Keyring, sink io.Writer) (*Manifest, string, error) {
	tr := tar.NewReader(r)
	mb, err := smallEntry(tr, entryManifest, MaxManifest)
	if err != nil {
		return nil, "", err
	}
	sb, err := smallEntry(tr, entrySignature, MaxSignature)
	if err != nil {
		return nil, "", err
	}
	keyID, err := checkSignature(mb, sb, keys)
	if err != nil {
		return nil, keyID, err
	}
	m, err := decodeManifest(mb)
	if err != nil {
		return nil, keyID, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := readPayload(tr, m, sink); err != nil {
		return nil, keyID, err
	}
	if _, err := tr.Next(); err != io.EOF {
		return nil, keyID, fmt.Errorf("%w: something follows the payload (want %s, %s and %s only)", ErrCorrupt, entryManifest, entrySignature, entryPayload)
	}
	return m, keyID, nil
}

// next reads the next entry's header and checks it is the regular file
// name, of at most max bytes (max < 0: any size).
func next(tr *tar.Reader, name string, max int64) (*tar.Header, error) {
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: ends before its %s", ErrCorrupt, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading its %s: %v", ErrCorrupt, name, err)
	}
	if hdr.Name != name || hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%w: want the file %s here, got %q", ErrCorrupt, name, clip(hdr.Name))
	}
	if max >= 0 && (hdr.Size < 0 || hdr.Size > max) {
		return nil, fmt.Errorf("%w: %s of %d bytes, want at most %d", ErrCorrupt, name, hdr.Size, max)
	}
	return hdr, nil
}

func smallEntry(tr *tar.Reader, name string, max int64) ([]byte, error) {
	hdr, err := next(tr, name, max)
	if err != nil {
		return nil, err
	}
	b := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, b); err != nil {
		return nil, fmt.Errorf("%w: %s cut short: %v", ErrCorrupt, name, err)
	}
	return b, nil
}

// checkSignature checks the signature entry sb over the manifest bytes mb
// with keys (nil: only its form). It returns the signing key's id.
func checkSignature(mb, sb []byte, keys *Keyring) (string, error) {
	var s signature
	if err := json.Unmarshal(sb, &s); err != nil {
		return "", fmt.Errorf("%w: signature: %v", ErrCorrupt, err)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Sig)
	if s.Alg != "ed25519" || err != nil || len(sig) != ed25519.SignatureSize || len(s.Key) != 16 {
		return "", fmt.Errorf("%w: signature: want {\"alg\": \"ed25519\", \"key\": <16 hex digits>, \"sig\": <base64 of 64 bytes>}", ErrCorrupt)
	}
	if keys == nil {
		return s.Key, nil
	}
	pk, ok := keys.key(s.Key)
	if !ok {
		return s.Key, fmt.Errorf("%w: key %s (trusted: %s)", ErrUntrusted, clip(s.Key), strings.Join(keys.IDs(), ", "))
	}
	if !ed25519.Verify(pk, mb, sig) {
		return s.Key, fmt.Errorf("%w (key %s)", ErrBadSignature, s.Key)
	}
	return s.Key, nil
}

// readPayload streams the payload to sink, checking its size and hash.
func readPayload(tr *tar.Reader, m *Manifest, sink io.Writer) error {
	hdr, err := next(tr, entryPayload, -1)
	if err != nil {
		return err
	}
	if hdr.Size != m.Size {
		return fmt.Errorf("%w: payload of %d bytes, the manifest says %d", ErrCorrupt, hdr.Size, m.Size)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, sink), io.LimitReader(tr, m.Size))
	if err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	if n != m.Size {
		return fmt.Errorf("%w: payload cut short at %d of %d bytes", ErrCorrupt, n, m.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("%w: payload's SHA-256 is %s, the manifest says %s (tampered with?)", ErrCorrupt, got, m.SHA256)
	}
	return nil
}
