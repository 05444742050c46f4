// Package artifact is tether's update file: one tar archive holding a
// manifest (what the update is: a process app's folder or a tether binary,
// its name, version, size and SHA-256, the OS and architecture of a
// binary, the least tether version it needs), an ed25519 signature over the
// manifest's exact bytes, and the payload (the app folder as tar.gz, or
// the binary). It makes signing keys (GenerateKeys), packs artifacts (Pack)
// and reads them back checking everything before a byte of the payload is
// trusted (Verify), and unpacks an app folder safely (ExtractApp).
//
// The layout, in this order and nothing else (docs/UPDATES.md):
//
//	manifest.json   the Manifest, as signed
//	signature       {"alg": "ed25519", "key": "<key id>", "sig": "<base64>"}
//	payload         Manifest.Size bytes whose SHA-256 is Manifest.SHA256
//
// Reading is bounded whatever the file holds: the manifest and the
// signature are small, the payload is read as a stream and never past its
// declared size.
package artifact

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"tether/internal/deviceid"
)

// Kinds of payload.
const (
	KindApp    = "app"    // a process app's folder, as tar.gz
	KindBinary = "binary" // a tether binary for OS/Arch
)

// Format is the manifest format this package writes and reads.
const Format = 1

// Manifest says what an artifact holds. The signature covers its bytes as
// they are in the file.
type Manifest struct {
	Format  int    `json:"format"`
	Name    string `json:"name"`    // the app's name in app.json ("weather"), or "tether"
	Version string `json:"version"` // free-form, shown to people ("2.0.1")
	Kind    string `json:"kind"`    // KindApp or KindBinary
	SHA256  string `json:"sha256"`  // of the payload, 64 lowercase hex digits
	Size    int64  `json:"size"`    // of the payload, in bytes
	// OS and Arch are a binary's GOOS and GOARCH ("linux", "arm"); empty
	// for an app.
	OS   string `json:"os,omitempty"`
	Arch string `json:"arch,omitempty"`
	// MinTether is the least tether version that may install it ("v0.4.0");
	// empty means any.
	MinTether string    `json:"min_tether,omitempty"`
	Created   time.Time `json:"created"`
}

// Limits of what an artifact may declare.
const (
	MaxManifest   = 16 << 10 // bytes of manifest.json
	MaxSignature  = 1 << 10  // bytes of the signature entry
	MaxPayload    = 1 << 30  // bytes of a payload
	maxVersionLen = 64
)

// BinaryName is a binary artifact's Name.
const BinaryName = "tether"

// Check reports the first thing wrong with m, naming the field.
func (m *Manifest) Check() error {
	switch {
	case m.Format != Format:
		return fmt.Errorf("manifest: format: want %d, got %d (made by a newer tether?)", Format, m.Format)
	case m.Kind != KindApp && m.Kind != KindBinary:
		return fmt.Errorf("manifest: kind: want %q or %q, got %q", KindApp, KindBinary, clip(m.Kind))
	case m.Kind == KindApp && deviceid.Check(m.Name) != nil:
		return fmt.Errorf("manifest: name: want an app's name (%s), got %q", deviceid.Rule, clip(m.Name))
	case m.Kind == KindBinary && m.Name != BinaryName:
		return fmt.Errorf("manifest: name: want %q for a binary, got %q", BinaryName, clip(m.Name))
	case !validVersion(m.Version):
		return fmt.Errorf("manifest: version: want 1-%d letters, digits, '.', '_', '+' or '-', got %q", maxVersionLen, clip(m.Version))
	case m.MinTether != "" && !validVersion(m.MinTether):
		return fmt.Errorf("manifest: min_tether: want a version like v0.4.0, got %q", clip(m.MinTether))
	case !validSHA(m.SHA256):
		return fmt.Errorf("manifest: sha256: want 64 lowercase hex digits, got %q", clip(m.SHA256))
	case m.Size <= 0 || m.Size > MaxPayload:
		return fmt.Errorf("manifest: size: want 1 to %d bytes, got %d", int64(MaxPayload), m.Size)
	case m.Kind == KindBinary && (!validPlatform(m.OS) || !validPlatform(m.Arch)):
		return fmt.Errorf("manifest: os, arch: want a binary's GOOS and GOARCH (linux, arm), got %q, %q", clip(m.OS), clip(m.Arch))
	case m.Kind == KindApp && (m.OS != "" || m.Arch != ""):
		return errors.New("manifest: os, arch: an app has none")
	}
	return nil
}

// String names the artifact for people: "app weather 2.0.1" or
// "binary tether v0.5.0 for linux/arm".
func (m *Manifest) String() string {
	s := m.Kind + " " + m.Name + " " + m.Version
	if m.Kind == KindBinary {
		s += " for " + m.OS + "/" + m.Arch
	}
	return s
}

// decodeManifest decodes and checks manifest.json's bytes.
func decodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func validVersion(v string) bool {
	if v == "" || len(v) > maxVersionLen {
		return false
	}
	return !strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-", r))
	})
}

func validSHA(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func validPlatform(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
}

// clip cuts what a file says to 40 bytes for an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
