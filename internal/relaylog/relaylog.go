// Package relaylog is the hub's log of relayed messages: one JSON line per
// message (time, direction, device id, payload) appended to a file that is
// rotated daily and when it reaches a size, with rotated files removed past
// a retention period and past a total size.
//
// The current file is Path; at the first write of a new day it is renamed
// to Path.YYYY-MM-DD (the day it holds), and when it reaches MaxSize to
// Path.YYYY-MM-DD.N (N = 1, 2, ... within that day). Secrets in payloads
// are masked (package redact) before they are written. Writes are buffered
// and flushed at least every second and on Close.
//
// A write error (a full disk) does not stop the log: the lines that could
// not be written are counted (Lost), the file is cut back to its last
// whole line, and writing resumes as soon as a write succeeds again. Log
// is safe for concurrent use.
package relaylog

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
	// Page is the page a message came from (PageToDevice), or the one
	// page a device's message is for (DeviceToPages, a device with page
	// identity: package pagetag); "" for a device's message to every page.
	Page   string
	Binary bool
	Data   []byte
}

// Options configure a Log; only Path is required.
type Options struct {
	// Path is the current file; rotated files sit beside it.
	Path string
	// Retention is how long rotated files are kept; zero keeps them all.
	Retention time.Duration
	// MaxSize is the size at which the current file is rotated, in bytes;
	// zero means 64 MiB.
	MaxSize int64
	// MaxTotal bounds the current and rotated files together, in bytes:
	// the oldest rotated files are removed past it. Zero means 1 GiB.
	MaxTotal int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FlushEvery is the longest a written line waits in the buffer; zero means 1 s.
	FlushEvery time.Duration
	// Logger tells when writing fails and when it resumes; nil means
	// slog.Default().
	Logger *slog.Logger
	// What names the log in those messages; "" means "message log".
	What string
}

// Log is an open message log.
type Log struct {
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	day     string
	size    int64 // bytes in the current file, buffered ones included
	synced  int64 // bytes of whole lines known to be in the current file
	pending int   // lines in the buffer
	failing error // the write error that stopped writing, until writes succeed again
	lost    atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Open opens (appending) or creates the log at opts.Path.
func Open(opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = 64 << 20
	}
	if opts.MaxTotal <= 0 {
		opts.MaxTotal = 1 << 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.What == "" {
		opts.What = "message log"
	}
	l := &Log{opts: opts, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.open(); err != nil {
		return nil, err
	}
	if fi, err := l.f.Stat(); err == nil && fi.Size() > 0 {
		l.size, l.synced = fi.Size(), fi.Size()
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
		return fmt.Errorf("open %s: %w", l.opts.What, err)
	}
	l.f, l.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Lost is how many lines could not be written since Open.
func (l *Log) Lost() uint64 { return l.lost.Load() }

// Write appends e. It returns an error only when e cannot be encoded or
// the log is failing (the line is then counted as lost); writing resumes by
// itself once the file takes writes again.
func (l *Log) Write(e Entry) error {
	b, err := encodeLine(e)
	if err != nil {
		return err
	}
	return l.WriteLine(e.Time, b)
}

// WriteLine appends one line, written at t, that the caller encoded (it
// ends with a newline and holds no other), with the rotation, bounds and
// failure handling of Write: how another log of JSON lines (the hub's
// audit log) is kept like this one.
func (l *Log) WriteLine(t time.Time, b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if day := t.Format(time.DateOnly); day > l.day || l.size > 0 && l.size+int64(len(b)) > l.opts.MaxSize {
		l.rotate(max(day, l.day))
	}
	if l.failing != nil {
		return l.retryWith(b)
	}
	if _, err := l.w.Write(b); err != nil {
		l.failed(err, 1)
		return err
	}
	l.size += int64(len(b))
	l.pending++
	return nil
}

// Flush writes buffered lines to the file.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flush()
}

// flush writes the buffer; called with l.mu held.
func (l *Log) flush() error {
	if l.failing != nil {
		return l.failing
	}
	if err := l.w.Flush(); err != nil {
		l.failed(err, 0)
		return err
	}
	l.synced, l.pending = l.size, 0
	return nil
}

// failed stops writing after err: the buffered lines (and extra more) are
// lost, and the file is cut back to its last whole line when writing
// resumes. Called with l.mu held.
func (l *Log) failed(err error, extra int) {
	l.lost.Add(uint64(l.pending + extra))
	if l.failing == nil {
		l.log.Error(l.opts.What+" write failed; lines are lost until it works again", "path", l.opts.Path, "err", err)
	}
	l.failing = err
	l.pending = 0
	if l.f != nil {
		l.w.Reset(l.f)
	}
	l.size = l.synced
}

// retryWith tries the file again after a failure, with line b: it cuts off
// a line written in part and writes b at once. On success writing resumes;
// otherwise b is lost. Called with l.mu held.
func (l *Log) retryWith(b []byte) error {
	err := l.failing
	if l.f == nil {
		err = l.open()
	}
	if l.f != nil {
		if err = l.f.Truncate(l.synced); err == nil {
			_, err = l.f.Write(b)
		}
	}
	if err != nil {
		l.lost.Add(1)
		return l.failing
	}
	l.size = l.synced + int64(len(b))
	l.synced = l.size
	l.log.Info(l.opts.What+" writing again", "path", l.opts.Path, "lines_lost", l.lost.Load())
	l.failing = nil
	return nil
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
		if l.f != nil {
			if cerr := l.f.Close(); err == nil {
				err = cerr
			}
		}
		l.mu.Unlock()
	})
	return err
}
