package update

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
)

// A tether binary's update runs in three processes, one after the other
// in the same place (under systemd, the same main PID):
//
//  1. The running tether (the old binary) stages the new one, records its
//     trial and hands over: its device stops (Options.Binary), and
//     RunBinaryTrial starts the new binary as its child, with TrialEnv
//     set, and watches it.
//  2. The child runs the device and judges its own trial as an app's is
//     judged (the app stays up, answers its probe, the device is back on
//     its hub). Committed, it points the link bin/tether in the root at
//     itself; either way it records the outcome and exits
//     (Options.TrialOver).
//  3. The old binary, seeing the child gone, execs bin/tether (the new
//     one) when the record says committed, and itself again otherwise:
//     when the child failed, exited before its verdict (a binary that
//     does not come up) or gave none in time. Its reason is recorded.
//
// A restart in the middle (a power cut) finds the trial recorded and
// starts it again (RunBinaryTrial, from tether device's start), at most
// maxBinaryStarts times.

// TrialEnv is the variable a binary on trial is started with: the SHA-256
// of the artifact it came in.
const TrialEnv = "TETHER_UPDATE_TRIAL"

// BinaryLink is the link to the committed tether binary, in the root:
// run tether device from it (docs/UPDATES.md), so a committed binary is
// the one that starts next time.
const BinaryLink = "bin/tether"

// maxBinaryStarts bounds the starts of one binary trial: a trial cut
// short this often (the machine dies each time) is rolled back.
const maxBinaryStarts = 3

// BinaryTrial is a staged tether binary handed over for its trial.
type BinaryTrial struct {
	// Path is the staged binary, absolute.
	Path string
	// Version is the version it was packed as.
	Version string
}

// handOver records a staged binary's trial and hands the device over to
// the command line, which stops the device and runs the trial.
func (s *Service) handOver(j *job) {
	if s.opts.Binary == nil {
		s.refuse(j, "this tether runs no binary trials")
		return
	}
	if !s.recordTrial(j, time.Now(), nil) {
		return
	}
	s.handedOver = true
	s.log.Warn("update: handing over to the new binary for its trial", "update", j.name(), "window", s.opts.Window.String())
	s.announce(fmt.Sprintf("update %s: restarting into it, on trial for %s", j.name(), roundWindow(s.opts.Window)))
	s.opts.Binary(BinaryTrial{Path: filepath.Join(s.opts.Root, j.Dir, BinaryFile), Version: j.Manifest.Version})
}

// judgingBinary reports whether j is the binary trial this process
// judges: it is the binary on trial.
func (s *Service) judgingBinary(j *job) bool {
	return j.Manifest != nil && j.Manifest.Kind == artifact.KindBinary && s.opts.TrialOf == j.SHA256
}

// commitBinary keeps the binary on trial: the link bin/tether points at
// it (a plain file there, installed by hand, is first kept beside the
// versions), the outcome is recorded, and the process ends for the old
// binary to exec the new one. A cut between the link and the record
// leaves the trial recorded: it starts again, and a rollback then puts
// the link back (binTrial.putBack).
func (s *Service) commitBinary(j *job) {
	if err := s.linkBinary(j); err != nil {
		s.rollback(j, "link "+BinaryLink+": "+err.Error())
		return
	}
	if s.hold("link") {
		return
	}
	s.commit(j)
	s.trialOver()
}

// linkBinary points bin/tether at j's binary. A plain file there is first
// kept as updates/tether/adopted-<time>/tether (a hard link, or a copy),
// recorded as j.Adopted, and then replaced by the link in one rename: at
// every instant bin/tether is a binary that runs.
func (s *Service) linkBinary(j *job) error {
	link := filepath.Join(s.opts.Root, BinaryLink)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(link); err == nil && fi.Mode().IsRegular() {
		j.Adopted = filepath.Join(BinariesDir, "adopted-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := keepFile(link, filepath.Join(s.opts.Root, j.Adopted, BinaryFile)); err != nil {
			return err
		}
		s.mu.Lock()
		s.rec.Job = j
		err := s.saveLocked()
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return atomicfile.Symlink(filepath.Join("..", j.Dir, BinaryFile), link)
}

// keepFile makes dst (its folder made) the same file as src: a hard link,
// or a fsynced copy where the filesystem has none.
func keepFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst) // a copy a cut left half made
	if err := os.Link(src, dst); err != nil {
		b, rerr := os.ReadFile(src)
		if rerr != nil {
			return rerr
		}
		if err := atomicfile.WriteFile(dst, b, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(filepath.Dir(dst))
}

// trialOver ends this process's run after its binary trial's verdict.
func (s *Service) trialOver() {
	if s.opts.TrialOver != nil {
		s.opts.TrialOver()
	}
}
