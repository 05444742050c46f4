// Package relaylog is the hub's log of relayed messages: one JSON line per
// message (time, direction, device id, payload) appended to a file that is
// rotated daily, with rotated files older than a retention period removed.
//
// The current day's file is Path; at the first write of a new day it is
// renamed to Path.YYYY-MM-DD (the day it holds). Writes are buffered and
// flushed at least every second and on Close. Log is safe for concurrent use.
package relaylog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Direction says which way a message went.
type Direction string

// The two directions of relayed messages.
const (
	PageToDevice  Direction = "page>device"
	DeviceToPages Direction = "device>pages"
)

// Entry is one relayed message.
type Entry struct {
	Time   time.Time
	Dir    Direction
	Device string
	Binary bool
	Data   []byte
}

// line is an Entry as written: text payloads as a string, binary ones as
// base64 (encoding/json's []byte form).
type line struct {
	Time   string    `json:"time"`
	Dir    Direction `json:"dir"`
	Device string    `json:"device"`
	Text   *string   `json:"text,omitempty"`
	Binary []byte    `json:"binary,omitempty"`
}

// Options configure a Log; only Path is required.
type Options struct {
	// Path is the current file; rotated files sit beside it.
	Path string
	// Retention is how long rotated files are kept; zero keeps them all.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FlushEvery is the longest a written line waits in the buffer; zero means 1 s.
	FlushEvery time.Duration
}

// Log is an open message log.
type Log struct {
	opts Options
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	day  string
	size int64 // bytes in the current file
	err  error
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Open opens (appending) or creates the log at opts.Path.
func Open(opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	l := &Log{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.open(); err != nil {
		return nil, err
	}
	if fi, err := l.f.Stat(); err == nil && fi.Size() > 0 {
		l.size = fi.Size()
		l.day = fi.ModTime().Format(time.DateOnly)
	} else {
		l.day = opts.Now().Format(time.DateOnly)
	}
	l.prune()
	go l.flushLoop()
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.opts.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open message log: %w", err)
	}
	l.f, l.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Write appends e; the first write error is kept and returned by later
// writes and by Close.
func (l *Log) Write(e Entry) error {
	ln := line{Time: e.Time.UTC().Format(time.RFC3339Nano), Dir: e.Dir, Device: e.Device}
	if e.Binary || !utf8.Valid(e.Data) {
		ln.Binary = e.Data
	} else {
		s := string(e.Data)
		ln.Text = &s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ln); err != nil {
		return fmt.Errorf("encode log line: %w", err)
	}
	b := buf.Bytes()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if day := e.Time.Format(time.DateOnly); day != l.day && day > l.day {
		l.rotate(day)
	}
	if l.err == nil {
		_, l.err = l.w.Write(b)
		l.size += int64(len(b))
	}
	return l.err
}

// rotate renames the current file to Path.<its day> and starts a new one;
// it is called with l.mu held.
func (l *Log) rotate(day string) {
	if l.size == 0 {
		l.day = day
		return
	}
	if err := l.w.Flush(); err != nil {
		l.err = err
		return
	}
	l.f.Close()
	old := l.opts.Path + "." + l.day
	if err := os.Rename(l.opts.Path, old); err != nil && !os.IsNotExist(err) {
		l.err = fmt.Errorf("rotate message log: %w", err)
		return
	}
	l.day, l.size = day, 0
	if err := l.open(); err != nil {
		l.err = err
		return
	}
	l.prune()
}

// prune removes rotated files older than the retention period.
func (l *Log) prune() {
	if l.opts.Retention <= 0 {
		return
	}
	cutoff := l.opts.Now().Add(-l.opts.Retention).Format(time.DateOnly)
	matches, _ := filepath.Glob(l.opts.Path + ".*")
	for _, m := range matches {
		day := strings.TrimPrefix(m, l.opts.Path+".")
		if _, err := time.Parse(time.DateOnly, day); err == nil && day < cutoff {
			os.Remove(m)
		}
	}
}

// Flush writes buffered lines to the file.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}

func (l *Log) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Flush()
		case <-l.stop:
			return
		}
	}
}

// Close flushes and closes the file; it is idempotent.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		err = l.Flush()
		l.mu.Lock()
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		l.mu.Unlock()
	})
	return err
}
