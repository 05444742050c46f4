// Package atomicfile replaces files so that a crash or power cut at any
// instant leaves either the old or the new contents, never a mix or an
// empty file, and keeps the previous version beside the new one.
//
// WriteFile writes the new contents to a temporary file in the same folder,
// fsyncs it, renames it over the target and fsyncs the folder. Before that,
// the current file (if any) becomes name.bak, also by rename, from a hard
// link to the current file (or, where the filesystem has no hard links, a
// fsynced copy). So at every instant both the file and its .bak, once they
// exist, are whole. Replace does the same without touching the .bak.
//
// Concurrent writers to the same path do not corrupt it, but the last rename
// wins; callers that need an order serialise their writes. A crash can leave
// a stray temporary file (".name.tmp*") beside the target; it is never read,
// and RemoveTemps clears them.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// BackupSuffix is appended to a file's name to name its previous version.
const BackupSuffix = ".bak"

// WriteFile atomically replaces path with data, with permissions perm (not
// subject to the umask). If path exists, its current version first becomes
// path+".bak", atomically.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := Backup(path); err != nil {
		return err
	}
	return Replace(path, data, perm)
}

// Replace atomically replaces path with data, with permissions perm, and
// leaves any .bak as it is.
func Replace(path string, data []byte, perm os.FileMode) error {
	return ReplaceWith(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReplaceWith is Replace for contents written as they are made: what fill
// writes replaces path. When fill (or anything else) fails, path is left
// as it was and no temporary file stays; fill's error is returned as it is.
func ReplaceWith(path string, perm os.FileMode, fill func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	var fillErr error
	tmp, err := writeTemp(dir, base, perm, func(w io.Writer) error {
		fillErr = fill(w)
		return fillErr
	})
	if fillErr != nil {
		return fillErr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := renameSynced(tmp, path, dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// renameSynced renames tmp over path and fsyncs dir, their folder, so the
// rename survives a power cut; tmp is removed when the rename fails.
func renameSynced(tmp, path, dir string) error {
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// Backup makes the current version of path its .bak, atomically: a hard
// link (or a fsynced copy) of path under a temporary name is renamed over
// path+".bak" and the folder fsynced. A missing path is not an error: there
// is nothing to keep.
func Backup(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("back up %s: not a regular file", path)
	}
	dir, base := filepath.Split(path)
	tmp, err := linkOrCopy(path, dir, base+BackupSuffix, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	if err := renameSynced(tmp, path+BackupSuffix, dir); err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	return nil
}

// RemoveTemps removes the temporary files a crash left beside path. Call it
// only when no other process may be writing path at the same time.
func RemoveTemps(path string) error {
	dir, base := filepath.Split(path)
	var errs []error
	for _, b := range []string{base, base + BackupSuffix} {
		temps, err := filepath.Glob(filepath.Join(dir, "."+globEscape(b)+".tmp*"))
		errs = append(errs, err)
		for _, tmp := range temps {
			errs = append(errs, os.Remove(tmp))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove temporary files of %s: %w", path, err)
	}
	return nil
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// linkOrCopy returns a temporary name in dir holding the same contents as
// path: a hard link when the filesystem allows one, else a fsynced copy.
func linkOrCopy(path, dir, base string, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	if err := os.Link(path, tmp); err == nil {
		return tmp, nil
	}
	return writeTemp(dir, base, perm, func(w io.Writer) error {
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
}

// writeTemp creates a temporary file in dir, fills it with fill, sets perm,
// fsyncs and closes it, and returns its name. On error it leaves nothing.
func writeTemp(dir, base string, perm os.FileMode, fill func(io.Writer) error) (name string, err error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return "", err
	}
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// syncDir fsyncs a folder so that renames in it survive a power cut.
// Filesystems that cannot sync a folder (EINVAL) are tolerated.
func syncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync folder: %w", err)
	}
	return nil
}

// SyncDir fsyncs a folder, so that names made, renamed or removed in it
// survive a power cut.
func SyncDir(dir string) error { return syncDir(dir) }

// Symlink makes path a symbolic link to target, atomically: a link made
// under a temporary name is renamed over path (a link or a file, never a
// folder) and the folder fsynced, so path is at every instant either what
// it was or the new link.
func Symlink(target, path string) error {
	dir, base := filepath.Split(path)
	for i := 0; ; i++ {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-link%d", base, i))
		err := os.Symlink(target, tmp)
		if errors.Is(err, os.ErrExist) && i < 100 {
			os.Remove(tmp) // a stray one from a crash
			continue
		}
		if err == nil {
			err = renameSynced(tmp, path, dir)
		}
		if err != nil {
			return fmt.Errorf("link %s: %w", path, err)
		}
		return nil
	}
}
