package device

import (
	"log/slog"
	"time"

	"tether/internal/logring"
)

// newLogger returns a logger writing to base's handler and, as short text
// lines of level info and above, into ring.
func newLogger(base *slog.Logger, ring *logring.Ring) *slog.Logger {
	ringH := slog.NewTextHandler(ring, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().Format(time.TimeOnly+".000"))
			}
			return a
		},
	})
	if base == nil {
		return slog.New(ringH)
	}
	return slog.New(slog.NewMultiHandler(base.Handler(), ringH))
}
