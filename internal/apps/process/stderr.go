package process

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Bounds of a program's standard error.
const (
	maxLogLine  = 2048 // bytes of a line logged; the rest is cut
	tailLines   = 12   // lines kept for the failure's reason
	maxTailLine = 300  // bytes of each
	logRate     = 50   // lines a second logged, with bursts of logBurst
	logBurst    = 200
)

// stderrLog logs a program's standard error, line by line, as the app's
// log (the device log, the live log, recovery's recent log), at most
// logRate lines a second: the rest are counted, and the count logged.
// It keeps the last lines for the reason of a failure.
type stderrLog struct {
	log     *slog.Logger
	limit   *rate.Limiter
	dropped atomic.Int64 // lines not logged, since the start

	mu      sync.Mutex
	tail    []string
	pending int64 // dropped since the last "dropped" line
}

func newStderrLog(log *slog.Logger) *stderrLog {
	return &stderrLog{log: log, limit: rate.NewLimiter(logRate, logBurst)}
}

// run reads r until its end.
func (s *stderrLog) run(r io.Reader) {
	lr := newLineReader(r, maxLogLine, true)
	for {
		line, cut, err := lr.next()
		if err != nil {
			s.flush()
			return
		}
		s.line(clean(string(line)), cut)
	}
}

// line logs one line, or counts it.
func (s *stderrLog) line(text string, cut int) {
	s.mu.Lock()
	s.tail = append(s.tail, clip300(text))
	if len(s.tail) > tailLines {
		s.tail = s.tail[1:]
	}
	s.mu.Unlock()
	if !s.limit.Allow() {
		s.dropped.Add(1)
		s.mu.Lock()
		s.pending++
		s.mu.Unlock()
		return
	}
	s.flush()
	if cut > 0 {
		s.log.Info(text, "cut", cut)
		return
	}
	s.log.Info(text)
}

// flush logs how many lines were dropped since it last did.
func (s *stderrLog) flush() {
	s.mu.Lock()
	n := s.pending
	s.pending = 0
	s.mu.Unlock()
	if n > 0 {
		s.log.Warn("standard error lines dropped: over the rate logged", "dropped", n, "rate", logRate)
	}
}

// lastLines returns the last lines written.
func (s *stderrLog) lastLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail...)
}

// clean makes text safe for a log line and a page: valid UTF-8, control
// characters (ANSI colour codes) left out.
func clean(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if !strings.ContainsFunc(text, unicode.IsControl) {
		return text
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, text)
}

// clip300 cuts a line kept for a reason to maxTailLine bytes, on a
// character boundary.
func clip300(s string) string {
	if len(s) <= maxTailLine {
		return s
	}
	s = s[:maxTailLine]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
