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
	es := entries(t, art)
	if len(es) != 3 {
		t.Fatalf("TamperArtifact: %d entries, want manifest, signature and payload", len(es))
	}
	payload := es[2].body
	old := sha256.Sum256(payload)
	payload[len(payload)/2] ^= 0x20
	sum := sha256.Sum256(payload)
	es[0].body = bytes.Replace(es[0].body, []byte(hex.EncodeToString(old[:])), []byte(hex.EncodeToString(sum[:])), 1)
	return writeEntries(es)
}

// UnsignArtifact returns art with its signature entry replaced by sig,
// or left out when sig is "": what someone without a key would send. With
// size > 0 it is padded with zero bytes (the end of a tar) to that size,
// to pass for a signed artifact of that size on the wire.
func UnsignArtifact(t testing.TB, art []byte, sig string, size int) []byte {
	t.Helper()
	var es []entry
	for _, e := range entries(t, art) {
		switch {
		case e.name != "signature":
		case sig == "":
			continue
		default:
			e.body = []byte(sig)
		}
		es = append(es, e)
	}
	out := writeEntries(es)
	if size > len(out) {
		out = append(out, make([]byte, size-len(out))...)
	}
	return out
}

// entry is a file of an artifact's tar.
type entry struct {
	name string
	body []byte
}

// entries reads the files of an artifact's tar.
func entries(t testing.TB, art []byte) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(art))
	var es []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		es = append(es, entry{hdr.Name, b})
	}
}

// writeEntries writes es as a tar of regular files.
func writeEntries(es []entry) []byte {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, e := range es {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.body)), Mode: 0o644})
		tw.Write(e.body)
	}
	tw.Close()
	return out.Bytes()
}
