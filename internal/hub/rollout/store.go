package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
)

// Artifact is an artifact the hub stores: the SHA-256 and size of its
// file (its name), and what its manifest says.
type Artifact struct {
	SHA256   string             `json:"sha256"`
	Size     int64              `json:"size"`
	Manifest *artifact.Manifest `json:"manifest"`
	KeyID    string             `json:"key"` // the key that signed it, as it says
	Stored   time.Time          `json:"stored"`
}

// Store keeps artifacts by the SHA-256 of their bytes in a folder: <sha>
// the file as uploaded, <sha>.json what the hub read of it. The hub does
// not check signatures (it holds no keys): devices do.
type Store struct {
	dir string

	mu    sync.Mutex
	index map[string]Artifact
}

// OpenStore opens (making it) the store in dir and reads its index.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	s := &Store{dir: dir, index: map[string]Artifact{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	for _, e := range entries {
		if sha, ok := strings.CutSuffix(e.Name(), ".json"); ok && validSHA(sha) {
			if a, ok := s.read(sha); ok {
				s.index[sha] = a
			}
		}
	}
	atomicfile.RemoveTemps(filepath.Join(dir, "upload"))
	return s, nil
}

// Put stores the artifact read from r (at most max bytes), checking its
// layout and manifest as it is read; storing the same bytes again is a
// no-op returning the same Artifact.
func (s *Store) Put(r io.Reader, max int64) (Artifact, error) {
	tmp, err := os.CreateTemp(s.dir, ".upload.tmp*")
	if err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	lr := &io.LimitedReader{R: r, N: max + 1}
	m, key, err := artifact.Inspect(io.TeeReader(lr, io.MultiWriter(h, tmp)), io.Discard)
	if err != nil {
		return Artifact{}, err
	}
	if _, err := io.Copy(io.MultiWriter(h, tmp), lr); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if lr.N <= 0 {
		return Artifact{}, fmt.Errorf("store artifact: over %d bytes (the hub's --max-artifact)", max)
	}
	size, _ := tmp.Seek(0, io.SeekCurrent)
	a := Artifact{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, Manifest: m, KeyID: key, Stored: time.Now().UTC()}
	if old, ok := s.Get(a.SHA256); ok {
		return old, nil
	}
	if err := tmp.Sync(); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, a.SHA256)); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	if err := atomicfile.Replace(filepath.Join(s.dir, a.SHA256+".json"), append(b, '\n'), 0o644); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	s.mu.Lock()
	s.index[a.SHA256] = a
	s.mu.Unlock()
	return a, nil
}

// read reads what the store knows of the artifact sha from its folder:
// another hub sharing the folder may have stored it.
func (s *Store) read(sha string) (Artifact, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, sha+".json"))
	var a Artifact
	if err != nil || json.Unmarshal(b, &a) != nil || a.SHA256 != sha {
		return Artifact{}, false // none, or a half-written entry: its upload never finished
	}
	if _, err := os.Stat(filepath.Join(s.dir, sha)); err != nil {
		return Artifact{}, false
	}
	return a, true
}

// Get returns the artifact stored as sha, looking in the folder for one
// another hub sharing it stored.
func (s *Store) Get(sha string) (Artifact, bool) {
	s.mu.Lock()
	a, ok := s.index[sha]
	s.mu.Unlock()
	if ok || !validSHA(sha) {
		return a, ok
	}
	if a, ok = s.read(sha); ok {
		s.mu.Lock()
		s.index[sha] = a
		s.mu.Unlock()
	}
	return a, ok
}

// List returns the stored artifacts, newest first.
func (s *Store) List() []Artifact {
	s.mu.Lock()
	out := make([]Artifact, 0, len(s.index))
	for _, a := range s.index {
		out = append(out, a)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Artifact) int { return b.Stored.Compare(a.Stored) })
	return out
}

// ErrNoArtifact is Serve's answer for a sha the store lacks.
var ErrNoArtifact = errors.New("no such artifact")

// Serve answers a device's GET for the artifact sha, with Range (so a
// device resumes a download) and its size.
func (s *Store) Serve(w http.ResponseWriter, r *http.Request, sha string) error {
	a, ok := s.Get(sha)
	if !ok {
		return ErrNoArtifact
	}
	f, err := os.Open(filepath.Join(s.dir, sha))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoArtifact
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+sha+`"`)
	http.ServeContent(w, r, sha+".tether", a.Stored, f)
	return nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	b, err := hex.DecodeString(s)
	return err == nil && hex.EncodeToString(b) == s
}
