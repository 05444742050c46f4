package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownBound is how long a signalled long-running command may take to
// stop before the process exits anyway.
const shutdownBound = 5 * time.Second

// signalCause is the cause a signal gives the command's context.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// runUntilSignal runs run until it returns or SIGINT or SIGTERM arrives.
// On a signal it calls stopping (if not nil), ends run's context and waits
// up to shutdownBound for run to return; a second signal exits at once.
// Ctrl-C (SIGINT) then exits with status 130, as a shell reports it, and
// SIGTERM with 0: a graceful stop.
func runUntilSignal(ctx context.Context, log *slog.Logger, stopping func(), run func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	done := make(chan error, 1)
	go func() { done <- run(ctx) }()

	var sig os.Signal
	select {
	case err := <-done:
		return err
	case sig = <-sigs:
	}
	log.Info("shutting down", "signal", sig.String(), "within", shutdownBound)
	if stopping != nil {
		stopping()
	}
	cancel(signalCause{sig})
	var err error
	select {
	case err = <-done:
	case <-time.After(shutdownBound - 250*time.Millisecond):
		err = errors.New("shutdown: did not stop within 5 s; exiting anyway")
	case again := <-sigs:
		err = fmt.Errorf("shutdown: %v again; exiting at once", again)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if sig == os.Interrupt {
		return &ExitError{Code: 130}
	}
	return nil
}

// onSIGHUP calls f on every SIGHUP until the returned stop is called.
func onSIGHUP(f func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-sigs:
				f()
			case <-quit:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(quit); <-done }
}
