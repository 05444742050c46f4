package ops

import (
	"fmt"
	"path/filepath"
	"time"

	"tether/internal/atomicfile"
)

// ApplyFile is the record of the pending config change and the last
// outcome, in the device root. It holds the previous files, secrets and
// all, so it is written like them: atomically, mode 0600.
const ApplyFile = "config-apply.json"

// record is ApplyFile's content.
type record struct {
	Pending *pending `json:"pending,omitempty"`
	Last    *outcome `json:"last,omitempty"`
}

// pending is a change in its confirm window.
type pending struct {
	Files []string `json:"files"`
	// Previous holds each file's text before the change; a file that did
	// not exist is absent (a revert removes it).
	Previous   map[string]string `json:"previous"`
	Applied    time.Time         `json:"applied"`
	Deadline   time.Time         `json:"deadline"`
	Window     float64           `json:"window_s"`
	HomeBefore bool              `json:"home_before"` // on the hub when applied
}

// outcome is how the last change ended.
type outcome struct {
	Outcome string    `json:"outcome"` // kept, confirmed, reverted
	Result  string    `json:"result"`
	At      time.Time `json:"at"`
}

func (s *Service) recordPath() string { return filepath.Join(s.opts.Root, ApplyFile) }

// loadRecord reads ApplyFile; a missing one is an empty record.
func (s *Service) loadRecord() (record, error) {
	var r record
	if s.opts.Root == "" {
		return r, nil
	}
	if _, err := atomicfile.ReadJSON(s.recordPath(), &r); err != nil {
		return record{}, fmt.Errorf("read %s: %w", ApplyFile, err)
	}
	return r, nil
}

// saveRecordLocked writes s.rec to ApplyFile; the caller holds s.mu.
func (s *Service) saveRecordLocked() error {
	if err := atomicfile.WriteJSON(s.recordPath(), s.rec, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", ApplyFile, err)
	}
	return nil
}

// resume reads the record at start. A change still pending gets what is
// left of its window, at least MinResume (or the whole window when that is
// shorter) and at most its whole window: the clock of a board without a
// battery can jump either way across a reboot.
func (s *Service) resume() {
	r, err := s.loadRecord()
	if err != nil {
		s.log.Error("config change record unreadable: a change in its window will not be reverted", "err", err)
		return
	}
	if p := r.Pending; p != nil {
		window := time.Duration(p.Window * float64(time.Second))
		left := ResumeLeft(p.Deadline, window, s.opts.MinResume)
		p.Deadline = time.Now().Add(left)
		s.log.Warn("a config change is still in its confirm window", "files", p.Files, "left", left.Round(time.Second).String())
	}
	s.rec = r
}
