package artifact

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Bounds of an app folder as it is unpacked.
const (
	MaxUnpacked = 1 << 30 // bytes of all its files
	MaxFiles    = 20000   // files and folders
)

// Payload returns the payload of the artifact r whose manifest m was
// verified (by Verify, from the same bytes): a reader of exactly m.Size
// bytes that fails at its end if they are not the ones m names, so that a
// file changed since it was verified is never taken.
func Payload(r io.Reader, m *Manifest) (io.Reader, error) {
	tr := tar.NewReader(r)
	mb, err := smallEntry(tr, entryManifest, MaxManifest)
	if err != nil {
		return nil, err
	}
	if _, err := smallEntry(tr, entrySignature, MaxSignature); err != nil {
		return nil, err
	}
	got, err := decodeManifest(mb)
	if err != nil || got.SHA256 != m.SHA256 || got.Size != m.Size {
		return nil, fmt.Errorf("%w: not the artifact that was verified", ErrCorrupt)
	}
	hdr, err := next(tr, entryPayload, -1)
	if err != nil {
		return nil, err
	}
	if hdr.Size != m.Size {
		return nil, fmt.Errorf("%w: payload of %d bytes, the manifest says %d", ErrCorrupt, hdr.Size, m.Size)
	}
	return &hashedReader{r: io.LimitReader(tr, m.Size), h: sha256.New(), want: m.SHA256, left: m.Size}, nil
}

// hashedReader checks its bytes' SHA-256 when they end.
type hashedReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	left int64
}

func (h *hashedReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.left -= int64(n)
	if err == io.EOF {
		if h.left != 0 {
			return n, fmt.Errorf("%w: payload cut short", ErrCorrupt)
		}
		if hex.EncodeToString(h.h.Sum(nil)) != h.want {
			return n, fmt.Errorf("%w: payload changed since it was verified", ErrCorrupt)
		}
	}
	return n, err
}

// ExtractApp unpacks an app payload (tar.gz) from r into dir, which must
// not exist yet. Only folders and regular files are taken, each inside
// dir (no absolute names, no ".."), within MaxUnpacked bytes and MaxFiles
// entries; files are fsynced. On error dir may hold part of the app: the
// caller removes it.
func ExtractApp(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("unpack app: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("unpack app: %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for files := 0; ; files++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("unpack app: %w", err)
		}
		if files >= MaxFiles {
			return fmt.Errorf("unpack app: more than %d files", MaxFiles)
		}
		total += max(hdr.Size, 0)
		if total > MaxUnpacked {
			return fmt.Errorf("unpack app: more than %d bytes", int64(MaxUnpacked))
		}
		if err := extractEntry(tr, hdr, dir); err != nil {
			return fmt.Errorf("unpack app: %w", err)
		}
	}
	// The gzip stream's own checksum is checked at its end.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("unpack app: %w", err)
	}
	return syncTree(dir)
}

// extractEntry writes one entry under dir.
func extractEntry(tr *tar.Reader, hdr *tar.Header, dir string) error {
	name, err := localName(hdr.Name)
	if err != nil {
		return err
	}
	target := filepath.Join(dir, filepath.FromSlash(name))
	mode := os.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		return os.Chmod(target, mode|0o700)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o600)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, hdr.Size)
		if err == nil {
			err = f.Sync()
		}
		return errors.Join(err, f.Close())
	}
	return fmt.Errorf("%q: want a folder or a regular file, got type %q", clip(hdr.Name), hdr.Typeflag)
}

// localName checks a name in the app's tar and returns it cleaned.
func localName(name string) (string, error) {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%q: want a name inside the app's folder", clip(name))
	}
	return clean, nil
}

// syncTree fsyncs every folder under dir, so the new names survive a
// power cut.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
