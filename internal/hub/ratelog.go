package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLog passes at most burst log lines per period and counts the rest,
// so that a flood of refusals (a scan, a flapping network) cannot flood the
// log; the count of dropped lines is logged with the next line passed.
type rateLog struct {
	log    *slog.Logger
	burst  int
	period time.Duration

	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

func newRateLog(log *slog.Logger) *rateLog {
	return &rateLog{log: log, burst: 20, period: 10 * time.Second}
}

// Warn logs msg at warning level unless the rate is exceeded.
func (l *rateLog) Warn(msg string, args ...any) { l.log1(slog.LevelWarn, msg, args) }

// Error logs msg at error level unless the rate is exceeded.
func (l *rateLog) Error(msg string, args ...any) { l.log1(slog.LevelError, msg, args) }

func (l *rateLog) log1(level slog.Level, msg string, args []any) {
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
