package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/config"
)

func init() {
	apps.RegisterProcess(func() apps.App { return &App{} }, Check)
}

// App runs the process app app.json names. The zero value is ready to Run.
type App struct {
	// StuckAfter is how long the program may leave its input unread, with
	// requests waiting, before it counts as stuck and is restarted; zero
	// means 30 s.
	StuckAfter time.Duration
	// AnnounceWait is how long Run waits for the program's announcement
	// before serving anyway; zero means 10 s.
	AnnounceWait time.Duration
	// Guard is the command that runs GuardMain; nil means this binary's
	// GuardCommand.
	Guard []string
}

var _ apps.App = (*App)(nil)

// Run starts the program and serves it (package appserver: the page, the
// command API, calling home) until ctx ends, then stops the program
// (SIGTERM, SIGKILL after its stop_grace) and returns nil. It fails when
// the program ends by itself (an *ExitError: its status and the last
// lines of its standard error), when it is stuck (not reading its input),
// or when it cannot serve. A program that is missing or may not be run,
// or exits with status 125, is a failure no restart can fix.
func (a *App) Run(ctx context.Context, env *apps.Env) error {
	cfg := env.Config
	if cfg == nil || cfg.App.Process() == nil {
		return apps.NoRestart(errors.New("process: app.json names no process app"))
	}
	p := cfg.App.Process()
	if problems := Check(cfg.Root, p); len(problems) > 0 {
		return apps.NoRestart(&config.Error{Problems: problems})
	}
	root := cfg.Root
	if abs, err := filepath.Abs(root); err == nil && root != "" {
		root = abs // the program runs in the root: a relative path would be taken twice
	}
	path, err := resolve(root, p)
	if err != nil {
		return apps.NoRestart(fmt.Errorf("%s: %w", p.Name, err))
	}
	r, err := newRun(a, env, cfg, p)
	if err != nil {
		return err
	}
	return r.run(ctx, path)
}

// run starts the program, waits for its announcement, serves, and watches.
func (r *run) run(ctx context.Context, path string) error {
	pr, err := startProc(spec{guard: r.app.Guard, path: path, argv: r.p.Exec, env: r.environ(), dir: r.root()})
	if err != nil {
		return fmt.Errorf("%s: %w", r.p.Name, err)
	}
	r.setPID(pr.pid)
	r.log.Info("program started", "pid", pr.pid, "exec", strings.Join(r.p.Exec, " "))
	r.in.push(encodeLine(r.hello()))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg, readers sync.WaitGroup
	wg.Go(func() { r.in.run(ctx, pr.stdin) })
	wg.Go(func() { r.publishState(ctx) })
	readers.Go(func() { r.readStdout(pr.stdout) })
	readers.Go(func() { r.errs.run(pr.stderr) })
	err = r.serve(ctx, pr)
	cancel()
	if !r.ended(pr) { // asked to stop, stuck, or the server failed
		pr.stop(r.grace())
	}
	pr.stdin.Close()
	drain(&readers, pr)
	wg.Wait()
	if err == nil {
		r.log.Info("program stopped", "how", pr.ended.describe())
	}
	return err
}

// ended reports whether the program has ended.
func (r *run) ended(pr *proc) bool {
	select {
	case <-pr.done:
		return true
	default:
		return false
	}
}

// serve waits for the announcement, then serves until ctx ends (nil),
// the program ends, it is stuck, or the server fails.
func (r *run) serve(ctx context.Context, pr *proc) error {
	wait := time.NewTimer(r.announceWait())
	select {
	case <-r.announced:
	case <-wait.C:
		r.log.Warn("the program has not announced itself: serving without its items until it does", "waited", r.announceWait())
	case <-pr.done:
	case <-ctx.Done():
	}
	wait.Stop()
	if ctx.Err() != nil {
		return nil
	}
	if r.ended(pr) { // it ended before it announced itself: never served
		return r.exitError(pr.ended)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvErr := make(chan error, 1)
	go func() { srvErr <- r.srv.Run(srvCtx) }()
	err := r.watch(ctx, pr, srvErr)
	stopSrv()
	if serr := <-srvErr; err == nil && ctx.Err() == nil {
		err = serr
	}
	return err
}

// watch waits for the end: ctx (nil), the program's (an *ExitError), the
// server's, or the program stuck.
func (r *run) watch(ctx context.Context, pr *proc, srvErr chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-pr.done:
			return r.exitError(pr.ended)
		case err := <-srvErr:
			srvErr <- err // for serve
			if err == nil {
				err = errors.New("the server stopped")
			}
			return err
		case <-tick.C:
			if d, waiting := r.in.blocked(); d >= r.stuckAfter() {
				r.log.Error("the program is stuck: it has not read its input", "for", d.Round(time.Second), "waiting", waiting)
				return fmt.Errorf("program %s is stuck: it has not read its input for %v with %d requests waiting", r.p.Exec[0], d.Round(time.Second), waiting)
			}
		}
	}
}

// drain waits for the readers of the program's output, which end when
// every process holding the pipes has ended; processes that left the
// group (setsid) may hold them longer: after a second they are closed.
func drain(readers *sync.WaitGroup, pr *proc) {
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		pr.stdout.Close()
		pr.stderr.Close()
		<-done
	}
	pr.stdout.Close()
	pr.stderr.Close()
}

// ExitError is a program that ended by itself: how, and the last lines
// of its standard error.
type ExitError struct {
	Program string   // exec[0]
	How     string   // "exited with status 1", "was killed by SIGSEGV"
	Status  int      // the exit status; -1 when killed by a signal
	Stderr  []string // its last lines of standard error
}

// Error reads "program python3 exited with status 1; the last lines of
// its standard error:" and the lines, indented.
func (e *ExitError) Error() string {
	s := "program " + e.Program + " " + e.How
	if len(e.Stderr) == 0 {
		return s + " (nothing on its standard error)"
	}
	return s + "; the last lines of its standard error:\n  " + strings.Join(e.Stderr, "\n  ")
}

// NoRestart is true for exit status 125: the program asks not to be
// restarted (a failure a restart cannot fix), and the device goes to
// recovery at once.
func (e *ExitError) NoRestart() bool { return e.Status == 125 }

func (r *run) exitError(st guardStatus) error {
	e := &ExitError{Program: r.p.Exec[0], How: st.describe(), Status: -1, Stderr: r.errs.lastLines()}
	if st.Exit != nil {
		e.Status = *st.Exit
	}
	r.log.Error("program ended", "how", e.How)
	return e
}

// root is the device root as an absolute path: the program's working
// folder and TETHER_ROOT.
func (r *run) root() string {
	if r.cfg.Root == "" {
		dir, _ := os.Getwd()
		return dir
	}
	abs, err := filepath.Abs(r.cfg.Root)
	if err != nil {
		return r.cfg.Root
	}
	return abs
}

func (r *run) grace() time.Duration {
	if r.p.StopGrace > 0 {
		return r.p.StopGrace
	}
	return config.DefaultStopGrace
}

func (r *run) stuckAfter() time.Duration {
	if r.app.StuckAfter > 0 {
		return r.app.StuckAfter
	}
	return 30 * time.Second
}

func (r *run) announceWait() time.Duration {
	if r.app.AnnounceWait > 0 {
		return r.app.AnnounceWait
	}
	return 10 * time.Second
}
