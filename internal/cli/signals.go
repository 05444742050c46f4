package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// errInterrupted and errTerminated are the causes signalContext gives.
var (
	errInterrupted = errors.New("interrupted (SIGINT)")
	errTerminated  = errors.New("terminated (SIGTERM)")
)

// signalContext returns a context that ends on SIGINT or SIGTERM, with the
// signal as its cause, and a function that stops listening.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			if s == os.Interrupt {
				cancel(errInterrupted)
			} else {
				cancel(errTerminated)
			}
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// exitForSignal maps how a long-running command ended to its exit: 130
// after SIGINT (as a shell reports Ctrl-C), 0 after SIGTERM (a graceful
// stop), err otherwise.
func exitForSignal(ctx context.Context, err error) error {
	switch context.Cause(ctx) {
	case errInterrupted:
		return &ExitError{Code: 130}
	case errTerminated:
		return nil
	}
	return err
}
