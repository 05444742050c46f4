// Package ratelog passes at most a burst of log lines per period and
// counts the rest, so that a flood (refusals during a scan, wrong
// passwords, a flapping network) cannot flood the log; the count of
// dropped lines goes with the next line passed.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Log passes at most Burst lines per Period to its logger. Make it with
// New; it is safe for concurrent use.
type Log struct {
	log    *slog.Logger
	burst  int
	period time.Duration

	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

// New returns a Log passing at most 20 lines every 10 s to log.
func New(log *slog.Logger) *Log {
	return &Log{log: log, burst: 20, period: 10 * time.Second}
}

// Warn logs msg at warning level unless the rate is exceeded.
func (l *Log) Warn(msg string, args ...any) { l.log1(slog.LevelWarn, msg, args) }

// Error logs msg at error level unless the rate is exceeded.
func (l *Log) Error(msg string, args ...any) { l.log1(slog.LevelError, msg, args) }

func (l *Log) log1(level slog.Level, msg string, args []any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.start) >= l.period {
		l.start, l.n = now, 0
	}
	l.n++
	if l.n > l.burst {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "similar_lines_dropped", dropped)
	}
	l.log.Log(context.Background(), level, msg, args...)
}
