package device

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"tether/internal/apps"
	"tether/internal/backoff"
)

// maxRestartDelay caps the supervisor's backoff; recovery, which must
// always be reachable, is retried at least every maxRecoveryDelay.
const (
	maxRestartDelay  = 30 * time.Second
	maxRecoveryDelay = 5 * time.Second
)

// PanicError is a panic that escaped an app's Run, with the stack of the
// goroutine that panicked.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // debug.Stack() at the recover
}

// Error reads "panic: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// errReturned is the failure of an app whose Run returned nil while its
// context was still live: the App contract allows nil only once ctx ended.
var errReturned = errors.New("app returned before it was asked to stop")

// supervise runs the plan's app until ctx ends (returning nil) or it has
// failed limit times within the failure window (returning why); limit 0
// never gives up, whatever the app's errors ask (recovery runs so).
func (d *Device) supervise(ctx context.Context, p plan, env *apps.Env, limit int) error {
	capDelay := maxRestartDelay
	if limit == 0 {
		capDelay = maxRecoveryDelay
	}
	bo := backoff.Backoff{Min: d.opts.RestartDelay, Max: max(d.opts.RestartDelay, capDelay)}
	var fails []time.Time
	for attempt := 1; ; attempt++ {
		d.setStatus(func(s *Status) { s.App, s.Attempt = p.app, attempt })
		d.log.Info(fmt.Sprintf("attempt %d, starting app %q", attempt, p.app), "app", p.app, "attempt", attempt)
		started := time.Now()
		err := runApp(ctx, p.ctor, env)
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				d.log.Warn("app stopped with an error", "app", p.app, "err", err)
			}
			return nil
		}
		if err == nil {
			err = errReturned
		}
		d.logFailure(p.app, attempt, err)
		d.setStatus(func(s *Status) { s.Failures, s.LastFailure, s.LastFailureAt = s.Failures+1, err.Error(), time.Now() })
		if limit > 0 && noRestart(err) { // without a limit there is nowhere to fall
			return fmt.Errorf("app %q failed and asks not to be restarted: %w", p.app, err)
		}
		fails = append(recent(fails, d.opts.FailureWindow), time.Now())
		if limit > 0 && len(fails) >= limit {
			return fmt.Errorf("app %q failed %d times within %v; last: %w", p.app, len(fails), d.opts.FailureWindow, err)
		}
		if time.Since(started) > d.opts.FailureWindow {
			bo.Reset() // it ran well for a while: start the delays over
		}
		delay := bo.Next()
		d.setStatus(func(s *Status) { s.Restarts++ })
		d.log.Info("restarting app after a delay", "app", p.app, "delay", delay.Round(time.Millisecond))
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// runApp makes a fresh app and runs it, turning a panic into *PanicError.
func runApp(ctx context.Context, ctor apps.Constructor, env *apps.Env) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	app := ctor()
	if app == nil {
		return errors.New("app constructor returned nil")
	}
	return app.Run(ctx, env)
}

// logFailure logs a failure, with the stack for a panic.
func (d *Device) logFailure(app string, attempt int, err error) {
	var pe *PanicError
	if errors.As(err, &pe) {
		d.log.Error("app panicked", "app", app, "attempt", attempt, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
		return
	}
	d.log.Error("app failed", "app", app, "attempt", attempt, "err", err)
}

// noRestart reports whether err asks not to be restarted.
func noRestart(err error) bool {
	var nr interface{ NoRestart() bool }
	return errors.As(err, &nr) && nr.NoRestart()
}

// recent keeps the times within window of now.
func recent(ts []time.Time, window time.Duration) []time.Time {
	cut := time.Now().Add(-window)
	out := ts[:0]
	for _, t := range ts {
		if t.After(cut) {
			out = append(out, t)
		}
	}
	return out
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
