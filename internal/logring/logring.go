// Package logring keeps the most recent log lines in memory, for the
// recovery page's "recent log". A Ring is safe for concurrent use.
package logring

import (
	"bytes"
	"sync"
)

// Ring holds the last N lines written to it. It is an io.Writer, so a slog
// handler can write to it beside the terminal.
type Ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
	split Splitter
}

// New returns a Ring holding up to n lines; n < 1 means 200.
func New(n int) *Ring {
	if n < 1 {
		n = 200
	}
	return &Ring{lines: make([]string, n)}
}

// Write splits p into lines and keeps the complete ones.
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.split.Split(p, r.add)
	return len(p), nil
}

func (r *Ring) add(line string) {
	r.lines[r.next] = line
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
}

// Lines returns the kept lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// Splitter cuts bytes written in any pieces into lines: a line without its
// newline waits for the rest. The zero value is ready; its owner's lock
// guards it.
type Splitter struct{ part []byte }

// Split calls line with every line p completes, without its newline.
func (s *Splitter) Split(p []byte, line func(string)) {
	data := p
	if len(s.part) > 0 {
		data = append(s.part, p...)
		s.part = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line(string(data[:i]))
		data = data[i+1:]
	}
	if len(data) > 0 {
		s.part = append([]byte(nil), data...)
	}
}
