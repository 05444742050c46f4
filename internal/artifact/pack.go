package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Entry names of an artifact, in their order.
const (
	entryManifest  = "manifest.json"
	entrySignature = "signature"
	entryPayload   = "payload"
)

// PackOptions say what to pack. Name, Version and Key are required; a
// binary also needs OS and Arch (DetectPlatform reads them from an ELF
// file).
type PackOptions struct {
	Name, Version string
	OS, Arch      string // a binary's GOOS and GOARCH
	MinTether     string // "" means any tether
	Key           ed25519.PrivateKey
	// Created is recorded in the manifest; zero means now.
	Created time.Time
}

// signature is the signature entry.
type signature struct {
	Alg string `json:"alg"` // "ed25519"
	Key string `json:"key"` // KeyID of the signing key
	Sig string `json:"sig"` // base64 of the signature over manifest.json
}

// PackApp writes to out an artifact of the process app folder dir: its
// regular files and folders, as tar.gz (modes kept; symbolic links and
// other special files are refused).
func PackApp(out io.Writer, dir string, o PackOptions) (*Manifest, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("pack app: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("pack app: %s: want the app's folder, got a file", dir)
	}
	tmp, err := os.CreateTemp("", "tether-pack-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("pack app: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tarGz(tmp, dir, o.created()); err != nil {
		return nil, fmt.Errorf("pack app %s: %w", dir, err)
	}
	m := Manifest{Kind: KindApp, Name: o.Name}
	return pack(out, tmp, m, o)
}

// PackBinary writes to out an artifact of the tether binary at path, for
// o.OS and o.Arch.
func PackBinary(out io.Writer, path string, o PackOptions) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pack binary: %w", err)
	}
	defer f.Close()
	m := Manifest{Kind: KindBinary, Name: BinaryName, OS: o.OS, Arch: o.Arch}
	return pack(out, f, m, o)
}

func (o PackOptions) created() time.Time {
	if o.Created.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return o.Created.UTC()
}

// pack hashes payload, signs the manifest and writes the three entries.
func pack(out io.Writer, payload io.ReadSeeker, m Manifest, o PackOptions) (*Manifest, error) {
	if o.Key == nil {
		return nil, fmt.Errorf("pack %s: no signing key", m.Kind)
	}
	h := sha256.New()
	n, err := io.Copy(h, payload)
	if err != nil {
		return nil, fmt.Errorf("pack %s: read payload: %w", m.Kind, err)
	}
	if _, err := payload.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("pack %s: %w", m.Kind, err)
	}
	m.Format, m.Version, m.MinTether, m.Created = Format, o.Version, o.MinTether, o.created()
	m.SHA256, m.Size = hex.EncodeToString(h.Sum(nil)), n
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("pack %s: %w", m.Kind, err)
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	mb = append(mb, '\n')
	sig, _ := json.Marshal(signature{Alg: "ed25519", Key: KeyID(o.Key.Public().(ed25519.PublicKey)),
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(o.Key, mb))})
	tw := tar.NewWriter(out)
	if err := writeEntry(tw, entryManifest, int64(len(mb)), m.Created, bytes.NewReader(mb)); err != nil {
		return nil, err
	}
	if err := writeEntry(tw, entrySignature, int64(len(sig)), m.Created, bytes.NewReader(sig)); err != nil {
		return nil, err
	}
	if err := writeEntry(tw, entryPayload, m.Size, m.Created, payload); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write artifact: %w", err)
	}
	return &m, nil
}

func writeEntry(tw *tar.Writer, name string, size int64, at time.Time, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: at, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write artifact: %s: %w", name, err)
	}
	if n, err := io.Copy(tw, r); err != nil || n != size {
		return fmt.Errorf("write artifact: %s: wrote %d of %d bytes: %v", name, n, size, err)
	}
	return nil
}

// tarGz writes dir's folders and regular files to w as tar.gz, names
// relative to dir, in lexical order, every time set to at.
func tarGz(w io.Writer, dir string, at time.Time) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: int64(info.Mode().Perm()), ModTime: at, Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			return fmt.Errorf("%s is a symbolic link (to %s): want only folders and regular files (symbolic links are not packed); pack a copy made with the links followed (cp -rL, rsync -aL)", rel, target)
		default:
			return fmt.Errorf("%s: %v: want only folders and regular files", rel, info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil || hdr.Typeflag == tar.TypeDir {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok {
		_, err = f.Seek(0, io.SeekStart)
	}
	return err
}
