package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
)

// RunOptions say how to run a binary's trial (RunBinaryTrial).
type RunOptions struct {
	// Root is the device root holding the record of the trial.
	Root string
	// Args are tether's arguments ("device", "--root", ...), given to the
	// new binary and to whichever binary is exec'd at the end.
	Args []string
	// Window is the trial's length (the child's --update-window); zero
	// means the one recorded.
	Window time.Duration
	// Stdout and Stderr receive the child's output; nil means the
	// process's.
	Stdout, Stderr io.Writer
	// Logger receives what happens; nil discards it.
	Logger *slog.Logger
}

// startupAllowance is how long a new binary may take to start, beyond
// its window, before the old one stops waiting for its verdict.
const startupAllowance = 60 * time.Second

// BinaryTrialPending reports whether root's record holds a binary's
// trial: tether device, started outside it (a restart in its middle),
// runs it again with RunBinaryTrial instead of its device.
func BinaryTrialPending(root string) bool {
	s := &Service{opts: Options{Root: root}}
	r, err := s.loadRecord()
	j := r.Job
	return err == nil && j != nil && j.Manifest != nil && j.Manifest.Kind == artifact.KindBinary &&
		(j.Phase == Trial || j.Phase == rollingBack)
}

// RunBinaryTrial runs the recorded binary trial: it starts the new
// binary as a child (TrialEnv set, dying with this process), waits for
// its verdict, and then execs the binary the record says: the new one,
// committed, through bin/tether, else this one again, with the reason of
// the rollback recorded. It returns only when ctx ends first (the child
// is stopped and the trial stays recorded, to start again), or when no
// exec works.
func RunBinaryTrial(ctx context.Context, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "update")
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("binary trial: find this binary: %w", err)
	}
	t := &binTrial{o: o, log: log, s: &Service{opts: Options{Root: o.Root}, log: log}, self: self}
	if err := t.begin(); err != nil {
		return err
	}
	if why := t.watch(ctx); why != "" {
		t.fail(why)
	}
	if ctx.Err() != nil {
		return nil
	}
	return t.execNext()
}

// binTrial is one run of RunBinaryTrial.
type binTrial struct {
	o    RunOptions
	log  *slog.Logger
	s    *Service // the record, read and written as the device does
	self string   // this (the old) binary
	j    *job
	tail tailWriter
}

// begin reads the trial and counts this start of it.
func (t *binTrial) begin() error {
	r, err := t.s.loadRecord()
	if err != nil {
		return fmt.Errorf("binary trial: %w", err)
	}
	t.s.rec = r
	if r.Job == nil || r.Job.Manifest == nil || r.Job.Manifest.Kind != artifact.KindBinary {
		return errors.New("binary trial: none is recorded")
	}
	t.j = r.Job
	if t.j.Phase == rollingBack {
		return nil
	}
	t.j.Starts++
	t.j.Deadline = time.Time{} // a new child: its window starts when it is up
	t.s.mu.Lock()
	err = t.s.saveLocked()
	t.s.mu.Unlock()
	return err
}

// watch runs the child and returns why the trial failed, "" when the
// child recorded its verdict itself (or ctx ended).
func (t *binTrial) watch(ctx context.Context) string {
	j := t.j
	if j.Phase == rollingBack {
		return j.Reason
	}
	if j.Starts > maxBinaryStarts {
		return fmt.Sprintf("its trial was cut short %d times (a restart or power cut each time)", j.Starts-1)
	}
	path := filepath.Join(t.o.Root, j.Dir, BinaryFile)
	cmd := exec.Command(path, t.o.Args...)
	cmd.Env = append(withoutEnv(os.Environ(), "NOTIFY_SOCKET", TrialEnv), TrialEnv+"="+j.SHA256)
	cmd.Stdout, cmd.Stderr = orStd(t.o.Stdout, os.Stdout), io.MultiWriter(orStd(t.o.Stderr, os.Stderr), &t.tail)
	cmd.SysProcAttr = childAttr()
	t.log.Warn("update: starting the new binary on trial", "binary", path, "version", j.Manifest.Version, "start", j.Starts)
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("the new binary does not start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	window := t.o.Window
	if window <= 0 {
		window = time.Duration(j.Window * float64(time.Second))
	}
	// The child's window starts when its app is up, at the latest one
	// window after it starts; then the window, the settling of its hub
	// link, and the allowance.
	limit := time.NewTimer(2*window + min(window/5, 10*time.Second) + startupAllowance)
	defer limit.Stop()
	select {
	case err := <-exited:
		return t.exited(err)
	case <-limit.C:
		stop(cmd, exited)
		return fmt.Sprintf("the new binary gave no verdict within %s of starting (it never came up, or never judged its trial)%s",
			(2*window + startupAllowance).Round(time.Second), t.tail.said())
	case <-ctx.Done():
		t.log.Info("update: stopping the binary on trial; its trial starts again at the next start")
		stop(cmd, exited)
		return ""
	}
}

// exited judges the child's end: fine when it recorded its verdict.
func (t *binTrial) exited(err error) string {
	r, rerr := t.s.loadRecord()
	if rerr == nil {
		t.s.rec = r
		if l := r.Last; l != nil && l.SHA256 == t.j.SHA256 && r.Job == nil {
			return ""
		}
		if r.Job != nil && r.Job.Phase == rollingBack {
			return r.Job.Reason
		}
	}
	how := "exited"
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		how = "ended: " + ee.ProcessState.String()
	}
	return "the new binary " + how + " before its trial ended" + t.tail.said()
}

// fail records the trial's rollback for why.
func (t *binTrial) fail(why string) {
	t.log.Warn("update: the new binary failed its trial: back to the one before it", "reason", why)
	if r, err := t.s.loadRecord(); err == nil {
		t.s.rec = r
		if r.Job != nil && r.Job.SHA256 == t.j.SHA256 {
			t.j = r.Job // with what the child recorded (Adopted)
		}
	}
	j := t.j
	j.Reason = why
	t.s.end(j, RolledBack, why)
}

// execNext execs the binary the record says: the committed one through
// bin/tether, else this one (or, when this one is the binary that failed,
// started from bin/tether after a cut left the link on it, the one before
// it, through bin/tether put back).
func (t *binTrial) execNext() error {
	next := t.self
	if l := t.s.rec.Last; l != nil && l.SHA256 == t.j.SHA256 && l.State == Committed {
		next = filepath.Join(t.o.Root, BinaryLink)
	} else {
		if t.putBack() {
			next = filepath.Join(t.o.Root, BinaryLink)
		}
		if t.j.Dir != "" && t.s.installedDir(artifact.BinaryName) != t.j.Dir {
			os.RemoveAll(filepath.Join(t.o.Root, t.j.Dir))
		}
	}
	env := withoutEnv(os.Environ(), TrialEnv)
	t.log.Warn("update: exec", "binary", next)
	err := syscall.Exec(next, append([]string{next}, t.o.Args...), env)
	if next != t.self {
		t.log.Error("update: the committed binary cannot be exec'd: this one goes on", "binary", next, "err", err)
		err = syscall.Exec(t.self, append([]string{t.self}, t.o.Args...), env)
	}
	return fmt.Errorf("binary trial: exec %s: %w", t.self, err)
}

// putBack points bin/tether back at the binary before the trial's when
// it points at the trial's (a cut between the child's link and its
// record), and reports whether it did: bin/tether is then the binary to
// run. With no binary before it (tether was run from elsewhere) the link
// is removed.
func (t *binTrial) putBack() bool {
	link := filepath.Join(t.o.Root, BinaryLink)
	target, err := os.Readlink(link)
	if err != nil || filepath.Join(filepath.Dir(link), target) != filepath.Join(t.o.Root, t.j.Dir, BinaryFile) {
		return false
	}
	prev := t.s.installedDir(artifact.BinaryName)
	if prev == "" || prev == t.j.Dir {
		prev = t.j.Adopted
	}
	if prev == "" {
		t.log.Warn("update: "+BinaryLink+" pointed at the binary that failed, and none was there before it: removed", "link", link)
		os.Remove(link)
		return false
	}
	if err := atomicfile.Symlink(filepath.Join("..", prev, BinaryFile), link); err != nil {
		t.log.Error("update: "+BinaryLink+" could not be put back", "err", err)
		return false
	}
	t.log.Warn("update: "+BinaryLink+" put back on the binary before the one that failed", "binary", prev)
	return true
}

// stop ends the child: SIGTERM, then SIGKILL after a few seconds.
func stop(cmd *exec.Cmd, exited <-chan error) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(4 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

func orStd(w, std io.Writer) io.Writer {
	if w != nil {
		return w
	}
	return std
}

// withoutEnv is env without the variables names.
func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// tailWriter keeps the last lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	lines []string
	part  string
}

const tailLines = 12

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	text := w.part + string(p)
	parts := strings.Split(text, "\n")
	w.part = parts[len(parts)-1]
	if len(w.part) > 300 {
		w.part = w.part[:300]
	}
	for _, l := range parts[:len(parts)-1] {
		w.lines = append(w.lines, clipLine(l))
	}
	if len(w.lines) > tailLines {
		w.lines = w.lines[len(w.lines)-tailLines:]
	}
	return len(p), nil
}

// said is "; the last lines of its standard error:\n..." or "".
func (w *tailWriter) said() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.lines
	if w.part != "" {
		lines = append(lines, w.part)
	}
	if len(lines) == 0 {
		return ""
	}
	return "; the last lines of its standard error:\n" + strings.Join(lines, "\n")
}

func clipLine(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
