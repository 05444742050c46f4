package devauth

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tether/internal/atomicfile"
	"tether/internal/login"
)

// File is the name, in the device root, of the file holding the device
// password's bcrypt hash.
const File = "device.passwd"

// maxFile bounds what is read of File; a bcrypt hash is 60 bytes.
const maxFile = 4096

// password is the device password as the guard holds it.
type password struct {
	hash string      // bcrypt; "" when there is none
	gen  uint64      // bumped whenever hash changes; sessions carry it
	info fs.FileInfo // File as last read; nil without a root or a file
	err  error       // why File is unusable, if it is
}

// Generate returns a new random password: four groups of five lowercase
// letters and digits 2-7 (base32: 100 bits), such as "mf3kq-zp7wa-4n2xr-bht5e".
func Generate() string {
	t := strings.ToLower(rand.Text()[:20])
	return t[0:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20]
}

// SetPassword stores pw as the device password of root: its bcrypt hash,
// written atomically to root's File with mode 0600. A device running on
// root sees it at its next request and ends every session.
func SetPassword(root, pw string) error { return setPassword(root, pw, login.HashCost) }

// setPassword is SetPassword with bcrypt's cost.
func setPassword(root, pw string, cost int) error {
	hash, err := login.HashPasswordCost(pw, cost)
	if err != nil {
		return fmt.Errorf("set device password: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(root, File), []byte(hash+"\n"), 0o600); err != nil {
		return fmt.Errorf("set device password: %w", err)
	}
	return nil
}

// readHash reads root's File: its hash, or "" when the file is missing or
// empty (no password yet).
func readHash(path string) (string, fs.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read device password: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", nil, fmt.Errorf("read device password: %w", err)
	}
	b := make([]byte, maxFile)
	n, _ := f.Read(b)
	hash := string(bytes.TrimSpace(b[:n]))
	if hash != "" && !login.ValidHash(hash) {
		return "", info, fmt.Errorf("read device password: %s does not hold a bcrypt hash", path)
	}
	return hash, info, nil
}

// generation returns the current password's generation, or why there is
// no usable password. File is read again when it changed on disk (tether
// device passwd, a reset by another process): then every session ends.
func (g *Guard) generation() (uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opts.Root != "" {
		g.refreshLocked()
	}
	switch {
	case g.pw.err != nil:
		return g.pw.gen, g.pw.err
	case g.pw.hash == "":
		return g.pw.gen, ErrNoPassword
	}
	return g.pw.gen, nil
}

// refreshLocked reads File again unless it is the one last read (same
// file, time and size) or is still missing; called with g.mu held.
func (g *Guard) refreshLocked() {
	path := filepath.Join(g.opts.Root, File)
	info, err := os.Stat(path)
	if g.pw.gen > 0 {
		switch {
		case err != nil && g.pw.info == nil:
			return // still none
		case err == nil && g.pw.info != nil && os.SameFile(info, g.pw.info) &&
			info.ModTime().Equal(g.pw.info.ModTime()) && info.Size() == g.pw.info.Size():
			return
		}
	}
	hash, info, err := readHash(path)
	if g.pw.gen == 0 || hash != g.pw.hash {
		if g.pw.hash != "" {
			g.log.Info("device password changed: every session ended")
		}
		g.pw.gen++
		g.sessions.RevokeAll()
		g.endLiveLocked()
	}
	g.pw.hash, g.pw.info, g.pw.err = hash, info, err
}

// ensure makes sure there is a password, making one (shown once on the
// console) when there is none.
func (g *Guard) ensure() error {
	_, err := g.generation()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrNoPassword) {
		return err // a file that does not read: not replaced unasked
	}
	pw := Generate()
	if err := g.set(pw); err != nil {
		return err
	}
	g.announce(pw)
	return nil
}

// set makes pw the device password: stored in the root (or held in memory
// without one), every session ended.
func (g *Guard) set(pw string) error {
	cost := cmp.Or(g.opts.HashCost, login.HashCost)
	if g.opts.Root != "" {
		if err := setPassword(g.opts.Root, pw, cost); err != nil {
			return err
		}
		_, err := g.generation()
		return err
	}
	hash, err := login.HashPasswordCost(pw, cost)
	if err != nil {
		return fmt.Errorf("set device password: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pw.hash = hash
	g.pw.gen++
	g.sessions.RevokeAll()
	g.endLiveLocked()
	return nil
}

// Stored reports whether root holds a device password, or why its File
// does not read.
func Stored(root string) (bool, error) {
	hash, _, err := readHash(filepath.Join(root, File))
	return hash != "", err
}
