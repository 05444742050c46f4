package ops

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"tether/internal/atomicfile"
	"tether/internal/config"
	"tether/internal/wire"
)

// Bounds of a change's confirm window as a request may set it.
const (
	minWindow = 5 * time.Second
	maxWindow = time.Hour
)

// files are the config files, in the order they are shown.
var files = []string{config.NetworkFile, config.AppFile}

// errNoRoot is the config items' answer on a device without a root.
var errNoRoot = errors.New("no device root (the device was started without --root): its config is built in and cannot be changed")

// change is one apply_config request, decoded.
type change struct {
	texts    map[string]string // file name → new text, secrets unmasked
	order    []string          // the files in request order
	window   time.Duration
	warnings []string // what the checks warn of, located
}

// configTexts reads both files as they are on disk: name → text, absent
// when the file does not exist.
func (s *Service) configTexts() (map[string]string, error) {
	out := map[string]string{}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(s.opts.Root, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		out[name] = string(b)
	}
	return out, nil
}

// check unmasks and validates each file of c against what is on disk, as
// recovery's save does. The error locates every problem.
func (c *change) check(current map[string]string, checks config.Machine) error {
	var msgs []string
	for _, name := range c.order {
		text, err := config.UnmaskSecrets(name, []byte(c.texts[name]), []byte(current[name]))
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		c.texts[name] = string(text)
		for _, p := range checks.Validate(name, text) {
			if p.Warning {
				c.warnings = append(c.warnings, p.String())
			} else {
				msgs = append(msgs, p.String())
			}
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

// apply saves c, records it as pending and returns what to tell the
// operator; the caller restarts the device.
func (s *Service) apply(c *change) (string, error) {
	if s.opts.Root == "" {
		return "", errNoRoot
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pendingErrLocked(); err != nil {
		return "", err
	}
	current, err := s.configTexts()
	if err != nil {
		return "", err
	}
	if err := c.check(current, s.opts.Checks); err != nil {
		return "", err
	}
	now := time.Now()
	p := &pending{Files: c.order, Previous: map[string]string{}, Applied: now, Deadline: now.Add(c.window),
		Window: c.window.Seconds(), HomeBefore: s.home.up}
	for _, name := range c.order {
		if text, ok := current[name]; ok {
			p.Previous[name] = text
		}
	}
	s.rec.Pending = p
	if err := s.saveRecordLocked(); err != nil { // before any file changes
		s.rec.Pending = nil
		return "", err
	}
	if err := s.writeLocked(c.order, c.texts, true); err != nil {
		s.restoreLocked(p)
		s.rec.Pending = nil
		s.saveRecordLocked()
		return "", err
	}
	s.base = s.opts.Health().Failures
	s.log.Warn("config change applied: in its confirm window", "files", c.order, "window", c.window.String(), "on_hub", p.HomeBefore)
	s.poke()
	info := fmt.Sprintf("applied %s; restarting; CMD confirm_config within %s to keep it for sure",
		joinAnd(c.order), seconds(c.window))
	for _, w := range c.warnings {
		info += "\nwarning: " + w
	}
	return info, nil
}

// pendingErrLocked is an error while a change is in its confirm window,
// since a second one would lose the first's way back.
func (s *Service) pendingErrLocked() error {
	if p := s.rec.Pending; p != nil {
		return fmt.Errorf("a change of %s is still in its confirm window (%s left): CMD confirm_config or CMD revert_config first",
			joinAnd(p.Files), seconds(max(time.Until(p.Deadline), 0)))
	}
	return nil
}

// writeLocked saves texts' files with the device's checks (valid files
// only, the previous good one kept as .bak) or, unchecked, restores them.
func (s *Service) writeLocked(names []string, texts map[string]string, checked bool) error {
	defer s.rev.Add(1)
	for _, name := range names {
		var err error
		if checked {
			err = s.opts.Checks.Save(s.opts.Root, name, []byte(texts[name]))
		} else {
			err = atomicfile.Replace(filepath.Join(s.opts.Root, name), []byte(texts[name]), config.FileMode)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// restoreLocked puts p's previous files back as they were (a file that
// did not exist is removed). Restored files are not checked: they are what
// the device had.
func (s *Service) restoreLocked(p *pending) error {
	var errs []error
	for _, name := range p.Files {
		if _, ok := p.Previous[name]; !ok {
			s.rev.Add(1)
			if err := os.Remove(filepath.Join(s.opts.Root, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		errs = append(errs, s.writeLocked([]string{name}, p.Previous, false))
	}
	return errors.Join(errs...)
}

// deadline is when the pending change's window ends.
func (s *Service) deadline() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.Pending == nil {
		return time.Time{}, false
	}
	return s.rec.Pending.Deadline, true
}

// windowEnded judges the pending change whose window has ended.
func (s *Service) windowEnded() {
	s.mu.Lock()
	p := s.rec.Pending
	if p == nil || time.Now().Before(p.Deadline) {
		s.mu.Unlock()
		return
	}
	why := s.troubleLocked(p.HomeBefore, s.base)
	s.mu.Unlock()
	if why == "" {
		s.finish("kept", fmt.Sprintf("kept %s: on the hub and the app ran without failure for the %s after the change (not confirmed)",
			joinAnd(p.Files), seconds(time.Duration(p.Window*float64(time.Second)))))
		return
	}
	s.revert(why)
}

// troubleLocked is Trouble; the caller holds s.mu.
func (s *Service) troubleLocked(homeBefore bool, base int) string {
	var why []string
	if homeBefore && !s.home.up {
		msg := "not on its hub at the end of the window"
		if s.home.err != "" {
			msg += " (" + s.home.err + ")"
		}
		why = append(why, msg)
	}
	h := s.opts.Health()
	switch {
	case h.Recovery:
		why = append(why, "the device is in recovery: "+oneLine(cmp.Or(h.Reason, h.LastFailure)))
	case h.Failures > base:
		why = append(why, fmt.Sprintf("the app has failed since the change (%d failures); last: %s", h.Failures-base, oneLine(h.LastFailure)))
	}
	return strings.Join(why, "; ")
}

// finish ends the pending change with an outcome that keeps it.
func (s *Service) finish(what, result string) {
	s.mu.Lock()
	if s.rec.Pending == nil {
		s.mu.Unlock()
		return
	}
	s.rec.Pending = nil
	s.rec.Last = &outcome{Outcome: what, Result: result, At: time.Now()}
	err := s.saveRecordLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("config change record not written", "err", err)
	}
	s.log.Info("config change "+what, "result", result)
	s.poke()
	s.announce(wire.Info("config change " + result))
}

// revert puts the previous files back, records why and restarts the device.
func (s *Service) revert(why string) error {
	s.mu.Lock()
	p := s.rec.Pending
	if p == nil {
		s.mu.Unlock()
		return errors.New("no config change to revert: none is in its confirm window")
	}
	err := s.restoreLocked(p)
	result := fmt.Sprintf("reverted %s at %s: %s", joinAnd(p.Files), time.Now().Format(time.TimeOnly), why)
	if err != nil {
		result += fmt.Sprintf(" (putting the files back failed: %v)", err)
	}
	s.rec.Pending = nil
	s.rec.Last = &outcome{Outcome: "reverted", Result: result, At: time.Now()}
	if err := s.saveRecordLocked(); err != nil {
		s.log.Error("config change record not written", "err", err)
	}
	restart := s.restart
	s.mu.Unlock()
	s.log.Warn("config change reverted", "files", p.Files, "reason", why)
	s.poke()
	s.announce(wire.Info("config change " + result + "; restarting"))
	if restart != nil {
		restart()
	}
	return err
}

// addState adds the change's keys to an app's state object.
func (s *Service) addState(m wire.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m["config/apply"], m["config/apply/files"], m["config/apply/left"] = "", []string{}, 0
	if p := s.rec.Pending; p != nil {
		m["config/apply"], m["config/apply/files"] = "pending", slices.Clone(p.Files)
		m["config/apply/left"] = int(math.Ceil(max(time.Until(p.Deadline).Seconds(), 0)))
	}
	m["config/apply/outcome"], m["config/apply/result"] = "", ""
	if l := s.rec.Last; l != nil {
		m["config/apply/outcome"], m["config/apply/result"] = l.Outcome, l.Result
	}
}

// seconds says a duration for people: "60 s", or "7.5 s" under ten
// seconds.
func seconds(d time.Duration) string {
	if d < 10*time.Second {
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
	}
	return strconv.Itoa(int(d.Round(time.Second).Seconds())) + " s"
}

// joinAnd lists file names for people: "app.json and network.json".
func joinAnd(names []string) string { return strings.Join(names, " and ") }

// oneLine says a failure on one line: its first line and, when there are
// more, its last (a program's last line of standard error, a traceback's
// exception: the cause), the lines between said as "…".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	first, last := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[len(lines)-1])
	switch len(lines) {
	case 1:
		return first
	case 2:
		return first + " " + last
	}
	return first + " … " + last
}
