// Package devlog is where the device's own log lines go besides the
// terminal: a ring of the recent ones (package logring) for the pages, a
// bounded file in the device root that keeps the last part of the log
// across restarts and power cuts, and live followers, each with a level
// filter and a bounded queue.
//
// A Log is an io.Writer of whole log lines as the handler of NewHandler
// writes them: one record a line, "level=INFO" among its first fields.
// Writing never blocks on a follower or the disk for long: a follower whose
// queue is full loses the line (counted), and the file is written with one
// write call a line and synced by a timer (see File).
package devlog

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/logring"
)

// TimeFormat is how a line's time is written: local time to the
// millisecond, with its offset, so lines kept across a reboot stay dated.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewHandler returns the handler that writes the device's lines into w:
// slog's text format, info and above, with TimeFormat times.
func NewHandler(w io.Writer) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().Format(TimeFormat))
			}
			return a
		},
	})
}

// Options configure a Log. The zero value keeps lines in a new ring only.
type Options struct {
	// Ring keeps the recent lines; nil means a new ring of 300.
	Ring *logring.Ring
	// File, when not nil, also keeps the lines on disk (OpenFile).
	File *File
}

// Log fans the device's log lines out to its ring, its file and its
// followers. It is safe for concurrent use.
type Log struct {
	ring *logring.Ring
	file *File

	mu        sync.Mutex
	split     logring.Splitter // holds an unfinished line
	followers map[*Follower]struct{}
	dropped   atomic.Int64
}

// New returns a Log. When opts.File kept lines from before, they go into
// the ring first, followed by a line marking this start.
func New(opts Options) *Log {
	l := &Log{ring: opts.Ring, file: opts.File, followers: map[*Follower]struct{}{}}
	if l.ring == nil {
		l.ring = logring.New(300)
	}
	if l.file != nil {
		for _, line := range l.file.Previous() {
			l.ring.Write([]byte(line + "\n"))
		}
		l.writeLine(StartMarker(time.Now()))
	}
	return l
}

// StartMarker is the line that separates one start's lines from those
// kept from before it.
func StartMarker(now time.Time) string {
	return "--- tether started " + now.Format(TimeFormat) + "; lines above are from before ---"
}

// Ring returns the ring of recent lines.
func (l *Log) Ring() *logring.Ring { return l.ring }

// Dropped is how many lines followers have lost since the Log was made.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Write takes log lines; a line without its newline waits for the rest.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.split.Split(p, l.writeLineLocked)
	return len(p), nil
}

func (l *Log) writeLine(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeLineLocked(line)
}

func (l *Log) writeLineLocked(line string) {
	level := LevelOf(line)
	l.ring.Write([]byte(line + "\n"))
	if l.file != nil {
		l.file.WriteLine(line, level >= slog.LevelWarn)
	}
	for f := range l.followers {
		if level >= f.Level() && !f.add(line) {
			l.dropped.Add(1)
		}
	}
}

// Close stops the followers and flushes and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	fs := l.followers
	l.followers = map[*Follower]struct{}{}
	l.mu.Unlock()
	for f := range fs {
		f.close()
	}
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}

// LevelOf reads a line's level from its "level=" field; lines without
// one (a start marker, text from elsewhere) are info.
func LevelOf(line string) slog.Level {
	i := strings.Index(line, "level=")
	if i < 0 || (i > 0 && line[i-1] != ' ') {
		return slog.LevelInfo
	}
	word := line[i+len("level="):]
	if j := strings.IndexByte(word, ' '); j >= 0 {
		word = word[:j]
	}
	var lv slog.Level
	if lv.UnmarshalText([]byte(word)) != nil {
		return slog.LevelInfo
	}
	return lv
}

// ParseLevel reads a level filter as people write it: "debug", "info",
// "warn" (or "warning"), "error"; "" means info.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}
