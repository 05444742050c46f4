package update

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tether/internal/artifact"
	"tether/internal/ops"
)

// tick is how often a trial looks at the app's health between probes.
const tick = 500 * time.Millisecond

// switchTo starts j's trial: recorded first, then the link switched and
// the app restarted (or, for a binary, the device handed over to the
// binary's trial).
func (s *Service) switchTo(j *job) {
	if j.Manifest.Kind == artifact.KindBinary {
		s.handOver(j)
		return
	}
	prev, adopt, err := s.currentLink(j.Manifest.Name)
	if err != nil {
		s.refuse(j, "switch: "+err.Error())
		return
	}
	now := time.Now()
	if adopt {
		j.Adopted = adoptedDir(j.Manifest.Name, now)
		prev = linkTarget(j.Adopted)
	}
	h := s.health()
	ok := s.recordTrial(j, now, func() {
		j.Prev = prev
		s.base, s.boots, s.upBy = h.Failures, h.Boots, now.Add(s.opts.Window)
		s.probe = probeNote{}
	})
	if !ok {
		return
	}
	if err := s.applySwitch(j); err != nil {
		s.rollback(j, "switch: "+err.Error())
		return
	}
	s.log.Warn("update on trial", "update", j.name(), "window", s.opts.Window.String(), "on_hub", j.HomeBefore)
	s.restartApp()
	s.announce(fmt.Sprintf("update %s: on trial for %s", j.name(), roundWindow(s.opts.Window)))
}

// recordTrial records j on trial since now, its window starting when the
// new version is up, with whatever locked (if not nil) sets under s.mu.
// It reports false when j was refused instead (the record not written)
// or the switch is held (tests).
func (s *Service) recordTrial(j *job, now time.Time, locked func()) bool {
	onHub := s.home().Up
	s.mu.Lock()
	j.Phase, j.PrevVersion = Trial, s.rec.Installed[j.Manifest.Name].Version
	j.Started, j.Deadline, j.Window = now, time.Time{}, s.opts.Window.Seconds()
	j.HomeBefore = j.HomeBefore || onHub
	s.rec.Job = j
	if locked != nil {
		locked()
	}
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.refuse(j, "switch: "+err.Error())
		return false
	}
	return !s.hold("switch")
}

// restartApp has the device boot again on the app's new link.
func (s *Service) restartApp() {
	if s.opts.Ops != nil && !s.opts.Ops.Restart() {
		s.log.Info("update: no app run to restart: the next boot takes the new link")
	}
}

// judge watches j's trial: a failure of the app ends it at once; at the
// window's end the whole contract is judged. It returns when to look
// again.
func (s *Service) judge(ctx context.Context, j *job) time.Duration {
	h := s.health()
	s.mu.Lock()
	base, boots := s.base, s.boots
	s.mu.Unlock()
	// Recovery counts once the device booted again after the switch: a
	// device in recovery before it (an update that repairs it) is not
	// failing the trial.
	if h.Recovery && h.Boots > boots || h.Failures > base {
		why := h.LastFailure
		if h.Recovery && h.Reason != "" {
			why = h.Reason
		}
		s.rollback(j, "the app failed: "+clipReason(why))
		return time.Millisecond
	}
	if j.Deadline.IsZero() && !s.windowStarts(j, h, boots) {
		return tick
	}
	if s.probeDue() {
		s.runProbe(ctx, j)
	}
	now := time.Now()
	if now.Before(j.Deadline) {
		return min(tick, time.Until(j.Deadline))
	}
	if wait := s.settling(j, now); wait > 0 {
		return wait
	}
	if why := s.verdict(j, base); why != "" {
		s.rollback(j, why)
		return time.Millisecond
	}
	if j.Manifest.Kind == artifact.KindBinary {
		s.commitBinary(j)
		return 0
	}
	s.commit(j)
	return 0
}

// windowStarts starts j's window, recorded, once the new version is up:
// the device booted since the switch and its app serves (h.ServedBoot),
// or one window has passed since the switch without it saying so. It
// reports whether the window runs.
func (s *Service) windowStarts(j *job, h ops.Health, boots int) bool {
	s.mu.Lock()
	upBy := s.upBy
	s.mu.Unlock()
	up := h.ServedBoot > boots
	if !up && time.Now().Before(upBy) {
		return false
	}
	window := time.Duration(j.Window * float64(time.Second))
	s.mu.Lock()
	j.Deadline = time.Now().Add(window)
	s.rec.Job = j
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("update record not written", "err", err)
	}
	s.log.Info("update trial: its window starts", "update", j.name(), "window", window.String(), "app_up", up)
	return true
}

// settle is how long the hub link must have been up when a trial ends:
// a link that keeps breaking is not back.
func (s *Service) settle() time.Duration { return min(s.opts.Window/5, 10*time.Second) }

// settling returns how long to wait for a link that came up just before
// the window's end to prove steady (at most one settle past the end).
func (s *Service) settling(j *job, now time.Time) time.Duration {
	home := s.home()
	if !j.HomeBefore || !home.Up || now.After(j.Deadline.Add(s.settle())) {
		return 0
	}
	if steady := home.Since.Add(s.settle()); now.Before(steady) {
		return min(tick, steady.Sub(now))
	}
	return 0
}

// verdict says why the trial fails at its end, "" when it holds: the
// config window's rule (on the hub if it was, the app not failing), a
// steady link, and the health probe answering.
func (s *Service) verdict(j *job, base int) string {
	var why []string
	if s.opts.Ops != nil {
		if t := s.opts.Ops.Trouble(j.HomeBefore, base); t != "" {
			why = append(why, t)
		} else if home := s.home(); j.HomeBefore && time.Since(home.Since) < s.settle() {
			why = append(why, fmt.Sprintf("the hub connection keeps breaking (up only %s before the end)", time.Since(home.Since).Round(time.Millisecond)))
		}
	}
	s.mu.Lock()
	p := s.probe
	s.mu.Unlock()
	switch {
	case p.has && p.passed == 0:
		why = append(why, "health probe never answered healthy: "+p.err)
	case p.has && !p.ok:
		why = append(why, "health probe failing: "+p.err)
	}
	return strings.Join(why, "; ")
}

// commit keeps j's version and forgets the versions before the previous.
func (s *Service) commit(j *job) {
	m := j.Manifest
	s.mu.Lock()
	if s.rec.Installed == nil {
		s.rec.Installed = map[string]installed{}
	}
	prev := s.prevDir(j)
	if m.Kind == artifact.KindBinary {
		prev = cmp.Or(s.rec.Installed[m.Name].Dir, j.Adopted)
	}
	s.rec.Installed[m.Name] = installed{Version: m.Version, Dir: j.Dir, PrevVersion: j.PrevVersion, PrevDir: prev}
	result := fmt.Sprintf("committed after %s on trial", roundWindow(time.Duration(j.Window*float64(time.Second))))
	s.rec.Last = &outcome{State: Committed, Name: m.Name, Kind: m.Kind, Version: m.Version, SHA256: j.SHA256, Rollout: j.Rollout, Reason: result, At: time.Now()}
	s.rec.Job = nil
	err := s.saveLocked()
	keep := s.rec.Installed[m.Name]
	s.mu.Unlock()
	if err != nil {
		s.log.Error("update record not written", "err", err)
	}
	s.log.Info("update committed", "update", j.name())
	s.prune(m, keep)
	s.removeDownload(j.SHA256)
	s.announce("update " + j.name() + ": " + result)
}

// prevDir is j's previous version's folder relative to the root, "" when
// it is not one of the root's.
func (s *Service) prevDir(j *job) string {
	if j.Prev == "" {
		return ""
	}
	abs := j.Prev
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.opts.Root, AppsDir, j.Prev)
	}
	rel, err := filepath.Rel(s.opts.Root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return rel
}

// prune removes an app's (or the binary's) versions other than the
// committed one and the one before it.
func (s *Service) prune(m *artifact.Manifest, keep installed) {
	base := filepath.Join(VersionsDir, m.Name)
	if m.Kind == artifact.KindBinary {
		base = BinariesDir
	}
	dir := filepath.Join(s.opts.Root, base)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rel := filepath.Join(base, e.Name())
		if rel == keep.Dir || rel == keep.PrevDir {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			s.log.Warn("update: old version not removed", "dir", rel, "err", err)
		}
	}
}

// rollback records that j's trial is being undone, and why; Run finishes
// it (finishRollback).
func (s *Service) rollback(j *job, why string) {
	s.mu.Lock()
	j.Phase, j.Reason = rollingBack, why
	s.rec.Job = j
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("update record not written", "err", err)
	}
	s.log.Warn("update failed its trial: rolling back", "update", j.name(), "reason", why)
	s.poke()
}

// finishRollback links the previous version back, restarts the app and
// records the outcome.
func (s *Service) finishRollback(j *job) {
	if s.hold("rollback") {
		return
	}
	if j.Manifest != nil && j.Manifest.Kind == artifact.KindApp {
		if err := s.linkBack(j); err != nil {
			s.log.Error("update: the previous version could not be linked back", "err", err)
			j.Reason += fmt.Sprintf(" (linking the previous version back failed: %v)", err)
		}
		s.restartApp()
	}
	s.end(j, RolledBack, j.Reason)
	if j.Dir != "" && (j.Manifest == nil || s.installedDir(j.Manifest.Name) != j.Dir) {
		os.RemoveAll(filepath.Join(s.opts.Root, j.Dir))
	}
	s.announce("update " + j.name() + ": rolled back: " + j.Reason)
	if s.judgingBinary(j) {
		s.trialOver()
	}
}

func (s *Service) installedDir(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Installed[name].Dir
}

// refuse ends j before anything was switched.
func (s *Service) refuse(j *job, why string) {
	s.log.Warn("update refused", "update", j.name(), "reason", why)
	s.end(j, Refused, why)
	if j.Dir != "" && s.installedDir(j.Manifest.Name) != j.Dir {
		os.RemoveAll(filepath.Join(s.opts.Root, j.Dir))
	}
	s.announce("update " + j.name() + ": refused: " + why)
}

// end records j's outcome and clears the job.
func (s *Service) end(j *job, state, why string) {
	o := &outcome{State: state, SHA256: j.SHA256, Rollout: j.Rollout, Reason: why, At: time.Now()}
	if m := j.Manifest; m != nil {
		o.Name, o.Kind, o.Version = m.Name, m.Kind, m.Version
	}
	s.mu.Lock()
	s.rec.Last, s.rec.Job = o, nil
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("update record not written", "err", err)
	}
	s.removeDownload(j.SHA256)
}

func (s *Service) removeDownload(sha string) {
	os.Remove(s.partPath(sha))
	os.Remove(s.artifactPath(sha))
}

// resume takes the record an earlier run left: a trial goes on with what
// is left of its window (ops.ResumeLeft), its link put right.
func (s *Service) resume() {
	r, err := s.loadRecord()
	if err != nil {
		s.log.Error("update record unreadable: an update in progress is forgotten", "err", err)
		return
	}
	s.rec = r
	s.removeStaging()
	j := r.Job
	if j == nil || j.Phase != Trial || j.Manifest == nil {
		return
	}
	switch {
	case j.Manifest.Kind == artifact.KindApp:
		if err := s.applySwitch(j); err != nil {
			s.log.Error("update: the version on trial could not be linked", "err", err)
		}
	case !s.judgingBinary(j):
		return // not this process's trial: Run ends it
	}
	window := time.Duration(j.Window * float64(time.Second))
	s.upBy = time.Now().Add(window)
	if j.Deadline.IsZero() { // its window had not started: it starts when the app is up
		s.log.Warn("an update is still on trial: its window starts when the app is up", "update", j.name(), "window", window.String())
		return
	}
	left := ops.ResumeLeft(j.Deadline, window, s.opts.MinResume)
	j.Deadline = time.Now().Add(left)
	s.log.Warn("an update is still on trial", "update", j.name(), "left", left.Round(time.Second).String())
}

// removeStaging removes what a power cut left half unpacked.
func (s *Service) removeStaging() {
	for _, pat := range []string{filepath.Join(VersionsDir, "*", "*.staging"), filepath.Join(BinariesDir, "*.staging")} {
		found, _ := filepath.Glob(filepath.Join(s.opts.Root, pat))
		for _, d := range found {
			os.RemoveAll(d)
		}
	}
}

// sayKeys says at start what the device does with updates.
func (s *Service) sayKeys() {
	keys, err := artifact.LoadKeyring(filepath.Join(s.opts.Root, KeysDir))
	switch {
	case err != nil:
		s.log.Error("update keys unreadable: every update will be refused until they are fixed", "err", err)
	case keys.Len() == 0:
		s.log.Warn("no update keys in " + filepath.Join(s.opts.Root, KeysDir) + ": every update from the hub will be refused (tether keys init, then copy the .pub file there)")
	default:
		s.log.Info("updates signed by these keys are taken", "keys", strings.Join(keys.IDs(), ", "))
	}
	s.sayBinary()
}

// sayBinary warns when a tether binary was committed as bin/tether but
// this process runs another: the unit starts the wrong file.
func (s *Service) sayBinary() {
	s.mu.Lock()
	inst, ok := s.rec.Installed[artifact.BinaryName]
	s.mu.Unlock()
	if !ok {
		return
	}
	exe, err1 := os.Executable()
	want, err2 := filepath.EvalSymlinks(filepath.Join(s.opts.Root, BinaryLink))
	want, err3 := filepath.Abs(want) // a relative root gives a relative path
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	if got, err := filepath.EvalSymlinks(exe); err == nil && got != want {
		s.log.Warn("tether "+inst.Version+" was committed as "+BinaryLink+" in the root, but this is another binary: start tether device from "+BinaryLink+" (docs/UPDATES.md)",
			"running", got, "committed", want)
	}
}

// health and home read the operator service; a Service without one (in
// tests of its parts) sees a healthy device off any hub.
func (s *Service) health() ops.Health {
	if s.opts.Ops == nil {
		return ops.Health{}
	}
	return s.opts.Ops.Health()
}

func (s *Service) home() ops.HomeStatus {
	if s.opts.Ops == nil {
		return ops.HomeStatus{}
	}
	return s.opts.Ops.Home()
}

// clipReason bounds a failure's text (a program's error with the last
// lines of its standard error) kept as a reason.
func clipReason(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// roundWindow rounds a window for people.
func roundWindow(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
