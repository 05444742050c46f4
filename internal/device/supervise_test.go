package device

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/apps"
)

// script is an app whose nth start (from 1) runs for run[n-1] of fake time
// and then fails; starts past the script fail at once.
type script struct {
	run    []time.Duration
	starts int
}

func (s *script) ctor() apps.App {
	return apps.Func(func(ctx context.Context, env *apps.Env) error {
		s.starts++
		var d time.Duration
		if s.starts <= len(s.run) {
			d = s.run[s.starts-1]
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
			return errors.New("scripted failure")
		}
	})
}

func TestSuperviseWindow(t *testing.T) {
	tests := []struct {
		name   string
		run    []time.Duration
		starts int
	}{
		{"three quick failures", nil, 3},
		// The third start runs two minutes: the two failures before it
		// fall out of the window, so it takes two more to give up.
		{"a long run forgives older failures", []time.Duration{0, 0, 2 * time.Minute}, 5},
		{"each run outlasts the window", []time.Duration{61 * time.Second, 61 * time.Second, 61 * time.Second, 61 * time.Second}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := New(Options{})
				s := &script{run: tt.run}
				err := d.supervise(t.Context(), plan{app: "scripted", ctor: s.ctor}, &apps.Env{}, 3)
				if err == nil || !strings.Contains(err.Error(), `app "scripted" failed 3 times within 1m0s; last: scripted failure`) {
					t.Fatalf("supervise: got %v, want it to give up", err)
				}
				if s.starts != tt.starts {
					t.Errorf("starts: got %d, want %d", s.starts, tt.starts)
				}
			})
		})
	}
}

func TestSuperviseStopsOnContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := New(Options{})
		s := &script{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- d.supervise(ctx, plan{app: "scripted", ctor: s.ctor}, &apps.Env{}, 0) }()
		time.Sleep(10 * time.Minute) // never gives up with limit 0
		synctest.Wait()
		if s.starts < 100 {
			t.Errorf("starts in 10 min with recovery's backoff capped at 5 s: got %d, want at least 100", s.starts)
		}
		cancel() // during a backoff delay
		if err := <-done; err != nil {
			t.Errorf("supervise after cancel: got %v, want nil", err)
		}
	})
}

func TestRunAppTurnsPanicIntoError(t *testing.T) {
	err := runApp(context.Background(), func() apps.App {
		return apps.Func(func(context.Context, *apps.Env) error { panic(errors.New("deep failure")) })
	}, &apps.Env{})
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(string(pe.Stack), "TestRunAppTurnsPanicIntoError") {
		t.Fatalf("runApp: got %v, want a *PanicError with the stack", err)
	}
	if err.Error() != "panic: deep failure" || errors.Unwrap(err) == nil {
		t.Errorf("PanicError: got %q (unwraps to %v), want \"panic: deep failure\" wrapping the error", err, errors.Unwrap(err))
	}
	if err := runApp(context.Background(), func() apps.App { return nil }, &apps.Env{}); err == nil {
		t.Error("runApp with a nil app: got nil, want an error")
	}
}
