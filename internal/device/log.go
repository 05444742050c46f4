package device

import (
	"log/slog"
	"path/filepath"

	"tether/internal/devlog"
	"tether/internal/ops"
)

// newLogger returns a logger writing to base's handler and, as text lines
// of level info and above, into the device's log.
func newLogger(base *slog.Logger, dlog *devlog.Log) *slog.Logger {
	h := devlog.NewHandler(dlog)
	if base == nil {
		return slog.New(h)
	}
	return slog.New(slog.NewMultiHandler(base.Handler(), h))
}

// LogFile is the device's log file in its root.
const LogFile = "tether.log"

// openLogFile opens the device root's log file, unless there is no root
// or size is negative.
func openLogFile(root string, size int64) (*devlog.File, error) {
	if root == "" || size < 0 {
		return nil, nil
	}
	return devlog.OpenFile(devlog.FileOptions{Path: filepath.Join(root, LogFile), MaxBytes: size})
}

// health is what package ops needs of the device's status.
func (d *Device) health() ops.Health {
	st := d.Status()
	return ops.Health{
		// A boot clears the reason: until it enters recovery again, the
		// device is not in recovery, whatever app it ran last.
		App: st.App, Recovery: st.App == RecoveryApp && st.Reason != "", Reason: st.Reason,
		Failures: st.Failures, Restarts: st.Restarts,
		LastFailure: st.LastFailure, LastFailureAt: st.LastFailureAt, Boots: st.Boots, ServedBoot: st.ServedBoot,
	}
}
