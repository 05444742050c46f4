package update

import (
	"fmt"
	"path/filepath"
	"time"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
)

// StateFile is the record of the update in progress and of the last
// outcome, in the device root. Every step is written here before it is
// taken, so a restart or a power cut at any instant resumes it.
const StateFile = "update-state.json"

// The states of an update, as update/state says them.
const (
	Downloading = "downloading"
	Staged      = "staged"
	Trial       = "trial"
	Committed   = "committed"
	RolledBack  = "rolled_back"
	Refused     = "refused"
	// rollingBack is a trial being undone: shown as Trial until done.
	rollingBack = "rolling_back"
)

// record is StateFile's content.
type record struct {
	Job  *job     `json:"job,omitempty"`
	Last *outcome `json:"last,omitempty"`
	// Installed are the versions committed, by app name ("tether" for
	// the binary).
	Installed map[string]installed `json:"installed,omitempty"`
}

// job is the update in progress.
type job struct {
	Phase   string `json:"phase"`   // Downloading, Staged, Trial, rollingBack
	SHA256  string `json:"sha256"`  // of the artifact file, its name on the hub
	Size    int64  `json:"size"`    // of the artifact file
	Rollout string `json:"rollout"` // the hub's rollout, "" when none
	// Manifest is set once the artifact is verified.
	Manifest *artifact.Manifest `json:"manifest,omitempty"`
	// Dir is the staged version's folder, relative to the root.
	Dir string `json:"dir,omitempty"`
	// Prev is the link's target before the switch, relative to the link's
	// folder ("" when there was none); Adopted is set when the app's
	// folder was a plain folder, moved into updates/ to be kept.
	Prev        string `json:"prev,omitempty"`
	PrevVersion string `json:"prev_version,omitempty"`
	Adopted     string `json:"adopted,omitempty"`
	// The trial: when it started and ends, whether the device was on its
	// hub when the update was asked or the trial started (then it must be
	// back on it), why it is being undone.
	Started    time.Time `json:"started,omitzero"`
	Deadline   time.Time `json:"deadline,omitzero"`
	Window     float64   `json:"window_s,omitempty"`
	HomeBefore bool      `json:"home_before,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	// Starts counts a binary's trial starts (a restart mid-trial starts
	// it again, up to maxBinaryStarts).
	Starts int `json:"starts,omitempty"`
}

// outcome is how the last update ended.
type outcome struct {
	State   string    `json:"state"` // Committed, RolledBack, Refused
	Name    string    `json:"name,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Version string    `json:"version,omitempty"`
	SHA256  string    `json:"sha256"`
	Rollout string    `json:"rollout,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// installed is the committed version of one app (or the binary) and the
// one before it, each with its folder relative to the root.
type installed struct {
	Version     string `json:"version"`
	Dir         string `json:"dir"`
	PrevVersion string `json:"prev_version,omitempty"`
	PrevDir     string `json:"prev_dir,omitempty"`
}

func (s *Service) recordPath() string { return filepath.Join(s.opts.Root, StateFile) }

// loadRecord reads StateFile; a missing one is an empty record.
func (s *Service) loadRecord() (record, error) {
	var r record
	if _, err := atomicfile.ReadJSON(s.recordPath(), &r); err != nil {
		return record{}, fmt.Errorf("read %s: %w", StateFile, err)
	}
	return r, nil
}

// saveLocked writes s.rec; the caller holds s.mu.
func (s *Service) saveLocked() error {
	if err := atomicfile.WriteJSON(s.recordPath(), s.rec, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", StateFile, err)
	}
	return nil
}

// jobName names the job's artifact for people.
func (j *job) name() string {
	if j.Manifest != nil {
		return j.Manifest.String()
	}
	return "artifact " + short(j.SHA256)
}

// short is the first 12 hex digits of a SHA-256.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
