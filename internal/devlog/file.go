package devlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// FileOptions configure a File. The zero value of every field but Path
// works.
type FileOptions struct {
	// Path is the log file; its previous part is Path+".1".
	Path string
	// MaxBytes is the size at which the file becomes Path+".1" (replacing
	// the one before) and a new one starts, so the two never hold much
	// more than twice this; zero means 256 KiB.
	MaxBytes int64
	// Keep is how many lines of the last run Previous returns; zero means
	// 300.
	Keep int
	// SyncDelay is the longest a line waits to be synced to the disk; zero
	// means 30 s. UrgentDelay is the same for warnings and errors, which
	// are synced at once unless a sync ran within it; zero means 1 s. So
	// an SD card sees at most one sync a second, and a power cut loses at
	// most the last second of warnings.
	SyncDelay, UrgentDelay time.Duration
	// RetryDelay is how long writing rests after a write fails (a full
	// disk) before the file is opened again; zero means 10 s.
	RetryDelay time.Duration
}

// File keeps log lines in a bounded file pair: each line is one write
// call (so a crash of the process loses nothing that was logged), synced
// to the disk by a timer. A write that fails (a full disk) loses its line,
// counted in Lost, and writing is tried again after a while. A File is
// safe for concurrent use.
type File struct {
	opts FileOptions
	prev []string // the last run's lines, read at open

	mu       sync.Mutex
	f        *os.File
	size     int64
	dirty    bool
	lastSync time.Time
	timer    *time.Timer
	timerAt  time.Time
	failedAt time.Time // the last failure, to retry after RetryDelay
	lost     int64
	closed   bool
}

// OpenFile opens (creating) the log file for appending and reads the last
// run's lines from it and its previous part.
func OpenFile(opts FileOptions) (*File, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 10
	}
	if opts.Keep <= 0 {
		opts.Keep = 300
	}
	if opts.SyncDelay <= 0 {
		opts.SyncDelay = 30 * time.Second
	}
	if opts.UrgentDelay <= 0 {
		opts.UrgentDelay = time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 10 * time.Second
	}
	fl := &File{opts: opts, prev: readTail(opts.Path, opts.Keep, opts.MaxBytes)}
	if err := fl.open(); err != nil {
		return nil, err
	}
	return fl, nil
}

// Previous returns the last lines kept from before this open, oldest first.
func (fl *File) Previous() []string { return fl.prev }

// Lost is how many lines could not be written.
func (fl *File) Lost() int64 {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.lost
}

func (fl *File) open() error {
	f, err := os.OpenFile(fl.opts.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	fl.f, fl.size = f, st.Size()
	return nil
}

// WriteLine appends line; urgent asks for a sync within UrgentDelay.
func (fl *File) WriteLine(line string, urgent bool) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return
	}
	if fl.f == nil && (time.Since(fl.failedAt) < fl.opts.RetryDelay || fl.open() != nil) {
		fl.failLocked()
		return
	}
	n, err := fl.f.Write([]byte(line + "\n"))
	fl.size += int64(n)
	if err != nil {
		fl.failLocked()
		return
	}
	fl.dirty = true
	if fl.size >= fl.opts.MaxBytes {
		fl.rotateLocked()
		return
	}
	fl.scheduleLocked(urgent)
}

// failLocked counts a lost line and rests the file.
func (fl *File) failLocked() {
	fl.lost++
	fl.failedAt = time.Now()
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

// rotateLocked makes the full file the previous part and starts a new one.
func (fl *File) rotateLocked() {
	fl.f.Sync()
	fl.f.Close()
	fl.f, fl.dirty, fl.lastSync = nil, false, time.Now()
	if err := os.Rename(fl.opts.Path, fl.opts.Path+".1"); err == nil {
		syncDir(filepath.Dir(fl.opts.Path))
	}
	if fl.open() != nil {
		fl.failedAt = time.Now()
	}
}

// scheduleLocked arms the sync timer for a new line.
func (fl *File) scheduleLocked(urgent bool) {
	at := time.Now().Add(fl.opts.SyncDelay)
	if urgent {
		at = fl.lastSync.Add(fl.opts.UrgentDelay) // in the past: at once
	}
	if fl.timer != nil && !at.Before(fl.timerAt) {
		return
	}
	if fl.timer != nil {
		fl.timer.Stop()
	}
	fl.timerAt = at
	fl.timer = time.AfterFunc(max(time.Until(at), 0), fl.sync)
}

// sync writes what the file holds to the disk.
func (fl *File) sync() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.timer = nil
	if !fl.dirty || fl.f == nil {
		return
	}
	fl.f.Sync()
	fl.dirty, fl.lastSync = false, time.Now()
}

// Close syncs and closes the file; later lines are not written.
func (fl *File) Close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return nil
	}
	fl.closed = true
	if fl.timer != nil {
		fl.timer.Stop()
		fl.timer = nil
	}
	if fl.f == nil {
		return nil
	}
	err := errors.Join(fl.f.Sync(), fl.f.Close())
	fl.f = nil
	if err != nil {
		return fmt.Errorf("close log file: %w", err)
	}
	return nil
}

// readTail returns the last keep lines of path.1 followed by path, each
// read from at most its last limit bytes. A power cut can leave a torn last
// line or a run of zero bytes: lines holding a zero byte are left out and
// invalid UTF-8 is replaced.
func readTail(path string, keep int, limit int64) []string {
	var lines []string
	for _, p := range []string{path + ".1", path} {
		lines = append(lines, tailLines(p, limit)...)
	}
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return lines
}

func tailLines(path string, limit int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(st.Size()-limit, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil
	}
	if off > 0 { // the first line is cut: drop it
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.ContainsRune(line, 0) {
			continue
		}
		if !utf8.ValidString(line) {
			line = strings.ToValidUTF8(line, "\uFFFD")
		}
		out = append(out, line)
	}
	return out
}

// syncDir fsyncs a folder so a rename in it survives a power cut.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
