package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runUntilSignal, as tether device, demo and hub stop: Ctrl-C ends run's
// context and exits 130 once run returns; a second Ctrl-C while run is
// still stopping exits at once with status 1.
func TestRunUntilSignal(t *testing.T) {
	for _, tt := range []struct {
		name     string
		signals  int
		wantCode int
		wantMsg  string
	}{
		{"one Ctrl-C", 1, 130, ""},
		{"Ctrl-C twice", 2, 1, "interrupt again; exiting at once"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			started, stopping, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
			defer close(release)
			done := make(chan error, 1)
			go func() {
				done <- runUntilSignal(context.Background(), slog.New(slog.DiscardHandler), func() { close(stopping) },
					func(ctx context.Context) error {
						close(started)
						<-ctx.Done()
						if tt.signals > 1 {
							<-release // still stopping when the second signal comes
						}
						return nil
					})
			}()
			<-started
			for i := range tt.signals {
				if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					<-stopping
				}
			}
			select {
			case err := <-done:
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != tt.wantCode || tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("got %v, want exit status %d %q", err, tt.wantCode, tt.wantMsg)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("runUntilSignal did not return")
			}
		})
	}
}
