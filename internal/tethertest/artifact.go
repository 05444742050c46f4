package tethertest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

// TamperArtifact returns an update artifact (tether pack's output) with
// one byte of its payload changed and the manifest's sha256 written to
// match, the signature kept: what an attacker without the signing key
// would send. The hub takes it (it checks no signatures); a device must
// refuse it.
func TamperArtifact(t testing.TB, art []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(art))
	var names []string
	var bodies [][]byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names, bodies = append(names, hdr.Name), append(bodies, b)
	}
	if len(bodies) != 3 {
		t.Fatalf("TamperArtifact: %d entries, want manifest, signature and payload", len(bodies))
	}
	old := sha256.Sum256(bodies[2])
	bodies[2][len(bodies[2])/2] ^= 0x20
	sum := sha256.Sum256(bodies[2])
	bodies[0] = bytes.Replace(bodies[0], []byte(hex.EncodeToString(old[:])), []byte(hex.EncodeToString(sum[:])), 1)
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for i, name := range names {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(bodies[i])), Mode: 0o644})
		tw.Write(bodies[i])
	}
	tw.Close()
	return out.Bytes()
}
