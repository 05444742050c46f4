package ratelog

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRateLogDropsAFlood(t *testing.T) {
	var buf strings.Builder
	l := New(slog.New(slog.NewTextHandler(&buf, nil)))
	l.period = time.Hour
	for range 100 {
		l.Warn("device refused")
	}
	if n := strings.Count(buf.String(), "device refused"); n != l.burst {
		t.Errorf("%d lines logged, want %d", n, l.burst)
	}
	l.start = time.Time{} // a new period
	l.Warn("device refused")
	if !strings.Contains(buf.String(), "similar_lines_dropped=80") {
		t.Errorf("the next line does not count the dropped ones:\n%s", buf.String())
	}
}
