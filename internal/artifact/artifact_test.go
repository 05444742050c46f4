package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// testKey is a fixed key, so fuzz seeds stay valid across runs.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func testPub() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

// appDir makes a small app folder.
func appDir(t testing.TB) string {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "main.py"), []byte("print('hello')\n"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "www"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("<p>hi</p>"), 0o644))
	return dir
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func packApp(t testing.TB, key ed25519.PrivateKey) []byte {
	var b bytes.Buffer
	_, err := PackApp(&b, appDir(t), PackOptions{Name: "weather", Version: "2.0.1", Key: key, MinTether: "v0.1.0",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	must(t, err)
	return b.Bytes()
}

func TestPackVerifyExtract(t *testing.T) {
	art := packApp(t, testKey)
	var payload bytes.Buffer
	m, key, err := Verify(bytes.NewReader(art), NewKeyring(testPub()), &payload)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "weather" || m.Version != "2.0.1" || m.Kind != KindApp || m.Size != int64(payload.Len()) || key != KeyID(testPub()) {
		t.Fatalf("manifest %+v key %s", m, key)
	}
	p, err := Payload(bytes.NewReader(art), m)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "app")
	must(t, ExtractApp(p, dir))
	b, err := os.ReadFile(filepath.Join(dir, "www", "index.html"))
	if err != nil || string(b) != "<p>hi</p>" {
		t.Fatalf("extracted index.html: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "main.py")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Fatalf("main.py lost its exec bit: %v %v", st.Mode(), err)
	}
	if _, _, err := Inspect(bytes.NewReader(art), io.Discard); err != nil {
		t.Fatalf("Inspect: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	art := packApp(t, testKey)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	tamperedPayload := bytes.Clone(art)
	// Flip a byte inside the payload (the gzip stream), headers untouched.
	tamperedPayload[bytes.Index(art, []byte{0x1f, 0x8b, 0x08})+30] ^= 0x40
	tamperedManifest := bytes.Replace(art, []byte(`"2.0.1"`), []byte(`"2.0.9"`), 1)
	tests := []struct {
		name string
		art  []byte
		keys *Keyring
		want error
	}{
		{"no keys", art, NewKeyring(), ErrNoKeys},
		{"wrong key", packApp(t, other), NewKeyring(testPub()), ErrUntrusted},
		{"tampered payload", tamperedPayload, NewKeyring(testPub()), ErrCorrupt},
		{"tampered manifest", tamperedManifest, NewKeyring(testPub()), ErrBadSignature},
		{"cut short", art[:len(art)/2], NewKeyring(testPub()), ErrCorrupt},
		{"not an artifact", []byte("hello"), NewKeyring(testPub()), ErrCorrupt},
		{"unsigned", tethertest.UnsignArtifact(t, art, "", 0), NewKeyring(testPub()), ErrCorrupt},
		{"signature emptied", tethertest.UnsignArtifact(t, art, `{"alg": "ed25519", "key": "`+KeyID(testPub())+`", "sig": ""}`, 0), NewKeyring(testPub()), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Verify(bytes.NewReader(tt.art), tt.keys, io.Discard)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	priv, pub, id, err := GenerateKeys(dir, "update")
	must(t, err)
	st, err := os.Stat(priv)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v; want 0600", st.Mode(), err)
	}
	if _, _, _, err := GenerateKeys(dir, "update"); err == nil || !strings.Contains(err.Error(), "never replaced") {
		t.Fatalf("second GenerateKeys: %v, want a refusal", err)
	}
	sk, err := LoadPrivateKey(priv)
	must(t, err)
	keysDir := t.TempDir()
	b, _ := os.ReadFile(pub)
	must(t, os.WriteFile(filepath.Join(keysDir, "a.pub"), b, 0o644))
	kr, err := LoadKeyring(keysDir)
	must(t, err)
	if kr.Len() != 1 || kr.IDs()[0] != id || KeyID(sk.Public().(ed25519.PublicKey)) != id {
		t.Fatalf("keyring %v, want [%s]", kr.IDs(), id)
	}
	must(t, os.WriteFile(filepath.Join(keysDir, "b.pub"), []byte("junk"), 0o644))
	if _, err := LoadKeyring(keysDir); err == nil || !strings.Contains(err.Error(), "b.pub") {
		t.Fatalf("LoadKeyring with junk: %v, want an error naming b.pub", err)
	}
	must(t, os.Chmod(priv, 0o644))
	if _, err := LoadPrivateKey(priv); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadPrivateKey 0644: %v, want a refusal", err)
	}
	if kr, err := LoadKeyring(filepath.Join(dir, "none")); err != nil || kr.Len() != 0 {
		t.Fatalf("missing keys dir: %v, %v", kr, err)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/etc/passwd", "a/../../b", "sub/..\\x"} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: 1, Mode: 0o644}))
			tw.Write([]byte("x"))
			tw.Close()
			err := ExtractApp(gz(t, b.Bytes()), filepath.Join(t.TempDir(), "app"))
			if err == nil || !strings.Contains(err.Error(), "inside the app's folder") {
				t.Fatalf("ExtractApp(%q): %v, want a refusal", name, err)
			}
		})
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc", Mode: 0o777}))
	tw.Close()
	if err := ExtractApp(gz(t, b.Bytes()), filepath.Join(t.TempDir(), "app")); err == nil || !strings.Contains(err.Error(), "regular file") {
		t.Fatalf("ExtractApp(symlink): %v, want a refusal", err)
	}
}

func TestPackRefusesSymlinks(t *testing.T) {
	dir := appDir(t)
	must(t, os.Symlink("/etc", filepath.Join(dir, "etc")))
	_, err := PackApp(io.Discard, dir, PackOptions{Name: "weather", Version: "1", Key: testKey})
	if err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Fatalf("PackApp with a symlink: %v", err)
	}
}

func TestDetectPlatform(t *testing.T) {
	exe, err := os.Executable()
	must(t, err)
	f, err := os.Open(exe)
	must(t, err)
	defer f.Close()
	goos, goarch, err := DetectPlatform(f)
	if err != nil || goos != runtime.GOOS || goarch != runtime.GOARCH {
		t.Fatalf("DetectPlatform(test binary) = %s/%s, %v; want %s/%s", goos, goarch, err, runtime.GOOS, runtime.GOARCH)
	}
	if _, _, err := DetectPlatform(bytes.NewReader([]byte("#!/bin/sh\n"))); err == nil || !strings.Contains(err.Error(), "--os") {
		t.Fatalf("DetectPlatform(script): %v", err)
	}
}

func TestCheckMinTether(t *testing.T) {
	tests := []struct {
		min, have string
		known, ok bool
	}{
		{"", "dev", true, true},
		{"v0.4.0", "v0.4.0", true, true},
		{"v0.4.0", "v0.5.0-3-gabc", true, true},
		{"v0.4.0", "v0.3.9", true, false},
		{"v1.0", "v0.9.9", true, false},
		{"v0.4.0", "dev", false, true},
	}
	for _, tt := range tests {
		known, err := CheckMinTether(&Manifest{MinTether: tt.min}, tt.have)
		if known != tt.known || (err == nil) != tt.ok {
			t.Errorf("CheckMinTether(%q, %q) = %v, %v; want known %v ok %v", tt.min, tt.have, known, err, tt.known, tt.ok)
		}
	}
}

// FuzzVerify feeds any bytes to the artifact reader, as the device checks
// an update and as the hub checks an upload: it must never panic,
// never accept what the key did not sign, and never write more payload
// than the manifest declares.
func FuzzVerify(f *testing.F) {
	art := packApp(f, testKey)
	f.Add(art)
	f.Add(art[:600])
	f.Add(bytes.Replace(art, []byte("weather"), []byte("weathex"), 1))
	f.Add([]byte{})
	keys := NewKeyring(testPub())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, inspectErr := Inspect(bytes.NewReader(data), io.Discard) // the hub's check on upload
		var sink countWriter
		m, _, err := Verify(bytes.NewReader(data), keys, &sink)
		if err != nil {
			return
		}
		if inspectErr != nil {
			t.Fatalf("the device accepts what the hub refuses: %v", inspectErr)
		}
		if int64(sink) != m.Size {
			t.Fatalf("accepted with %d payload bytes, manifest says %d", sink, m.Size)
		}
		if p, err := Payload(bytes.NewReader(data), m); err == nil {
			ExtractApp(p, filepath.Join(t.TempDir(), "app"))
		}
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func gz(t testing.TB, b []byte) io.Reader {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return &out
}

// FuzzExtractApp unpacks any bytes as an app's payload: no panic, and
// nothing written outside the folder.
func FuzzExtractApp(f *testing.F) {
	art := packApp(f, testKey)
	m, _, err := Verify(bytes.NewReader(art), NewKeyring(testPub()), io.Discard)
	must(f, err)
	p, err := Payload(bytes.NewReader(art), m)
	must(f, err)
	payload, err := io.ReadAll(p)
	must(f, err)
	f.Add(payload)
	f.Add(payload[:len(payload)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		ExtractApp(bytes.NewReader(data), filepath.Join(base, "app"))
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.Name() != "app" {
				t.Fatalf("wrote %s outside the app's folder", e.Name())
			}
		}
	})
}
