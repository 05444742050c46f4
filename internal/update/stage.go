package update

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
	"tether/internal/config"
)

// Folders under the root.
const (
	// AppsDir holds each updated app's link, apps/<name>, to its version
	// in VersionsDir.
	AppsDir     = "apps"
	VersionsDir = "updates/apps"   // <name>/<version>-<sha>/
	BinariesDir = "updates/tether" // <version>-<sha>/tether
	KeysDir     = "keys"
)

// verify checks the downloaded artifact whole and what it is for, and
// returns its manifest; every error is a refusal.
func (s *Service) verify(j *job) (*artifact.Manifest, error) {
	keys, err := artifact.LoadKeyring(filepath.Join(s.opts.Root, KeysDir))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.artifactPath(j.SHA256))
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	m, _, err := artifact.Verify(io.TeeReader(f, h), keys, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("refused before staging: %w", err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != j.SHA256 {
		return nil, fmt.Errorf("refused before staging: the file downloaded has SHA-256 %s, not the %s asked for", short(got), short(j.SHA256))
	}
	if err := s.checkFor(m); err != nil {
		return nil, fmt.Errorf("refused before staging: %s: %w", m, err)
	}
	return m, nil
}

// checkFor checks that m is for this device: the app it runs, or its OS
// and architecture, and a tether recent enough.
func (s *Service) checkFor(m *artifact.Manifest) error {
	known, err := artifact.CheckMinTether(m, s.opts.Version)
	if err != nil {
		return err
	}
	if !known {
		s.log.Info("update: tether's version is not a release, so min_tether is not checked", "version", s.opts.Version, "min_tether", m.MinTether)
	}
	if m.Kind == artifact.KindBinary {
		if m.OS != runtime.GOOS || m.Arch != runtime.GOARCH {
			return fmt.Errorf("a binary for %s/%s, this device is %s/%s", m.OS, m.Arch, runtime.GOOS, runtime.GOARCH)
		}
		if s.opts.Binary == nil {
			return errors.New("this tether runs no binary trials (it was not started by tether device)")
		}
		return nil
	}
	cfg, _, err := config.Load(s.opts.Root)
	if err != nil {
		return fmt.Errorf("the config does not load: %w", err)
	}
	if cfg.App.Name != m.Name {
		return fmt.Errorf("this device runs app %q (app.json's \"app\"), not %q", cfg.App.Name, m.Name)
	}
	return nil
}

// versionDir is where m's version is staged, relative to the root.
func versionDir(m *artifact.Manifest, sha string) string {
	base := m.Version + "-" + short(sha)
	if m.Kind == artifact.KindBinary {
		return filepath.Join(BinariesDir, base)
	}
	return filepath.Join(VersionsDir, m.Name, base)
}

// stage unpacks the verified artifact beside the version running and
// records it as staged.
func (s *Service) stage(j *job, m *artifact.Manifest) error {
	dir := versionDir(m, j.SHA256)
	abs := filepath.Join(s.opts.Root, dir)
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if err := s.unpack(j, m, abs); err != nil {
			return fmt.Errorf("stage %s: %w", m, err)
		}
	}
	s.mu.Lock()
	j.Phase, j.Manifest, j.Dir = Staged, m, dir
	s.rec.Job = j
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("stage %s: %w", m, err)
	}
	s.log.Info("update staged", "update", m.String(), "dir", dir)
	s.announce("update " + m.String() + ": verified and staged")
	s.hold("staged")
	return nil
}

// unpack writes the payload into abs+".staging", then renames it to abs:
// a folder named abs is always whole.
func (s *Service) unpack(j *job, m *artifact.Manifest, abs string) error {
	tmp := abs + ".staging"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	f, err := os.Open(s.artifactPath(j.SHA256))
	if err != nil {
		return err
	}
	defer f.Close()
	payload, err := artifact.Payload(f, m)
	if err != nil {
		return err
	}
	if m.Kind == artifact.KindBinary {
		err = writeBinary(payload, tmp)
	} else {
		err = artifact.ExtractApp(payload, tmp)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if s.hold("staging") {
		return errors.New("held")
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(abs))
}

// BinaryFile is the binary's name in its version's folder.
const BinaryFile = "tether"

// writeBinary writes a binary payload as dir/tether, mode 0755, fsynced.
func writeBinary(payload io.Reader, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, BinaryFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, payload)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// linkPath is the app's link, apps/<name>, absolute.
func (s *Service) linkPath(name string) string {
	return filepath.Join(s.opts.Root, AppsDir, name)
}

// linkTarget is what the link of an app staged in dir (relative to the
// root) points to: a path relative to the link's folder, so the root may
// move.
func linkTarget(dir string) string {
	return filepath.Join("..", dir)
}

// current reads what apps/<name> is now: the link's target, or adopt set
// when it is a plain folder (an app installed by hand).
func (s *Service) currentLink(name string) (target string, adopt bool, err error) {
	link := s.linkPath(name)
	fi, err := os.Lstat(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", false, nil
	case err != nil:
		return "", false, err
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(link)
		return t, false, err
	case fi.IsDir():
		return "", true, nil
	}
	return "", false, fmt.Errorf("%s is a %v, want a folder or a link", link, fi.Mode().Type())
}

// applySwitch points the app's link at j's version, first moving a
// plain folder there into updates/ (Adopted). Taking it again after a
// power cut does what was left.
func (s *Service) applySwitch(j *job) error {
	link := s.linkPath(j.Manifest.Name)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	if j.Adopted != "" {
		if fi, err := os.Lstat(link); err == nil && fi.IsDir() {
			dst := filepath.Join(s.opts.Root, j.Adopted)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(link, dst); err != nil {
				return err
			}
			if err := atomicfile.SyncDir(filepath.Dir(link)); err != nil {
				return err
			}
		}
	}
	return atomicfile.Symlink(linkTarget(j.Dir), link)
}

// linkBack points the app's link at what it was before j's switch, or
// removes it when there was none.
func (s *Service) linkBack(j *job) error {
	link := s.linkPath(j.Manifest.Name)
	if j.Prev == "" {
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return atomicfile.SyncDir(filepath.Dir(link))
	}
	return atomicfile.Symlink(j.Prev, link)
}

// adoptedDir is where a plain app folder is kept once an update replaces it.
func adoptedDir(name string, now time.Time) string {
	return filepath.Join(VersionsDir, name, "adopted-"+now.UTC().Format("20060102T150405Z"))
}
