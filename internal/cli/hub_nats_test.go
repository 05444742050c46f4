//go:build !tether_device

package cli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/cli"
	"tether/internal/hub/broker/natsbroker/natstest"
)

func TestHubNATSFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"creds without nats", []string{"--nats-creds", "x.creds"}, "need --nats"},
		{"tls ca without nats", []string{"--nats-tls-ca", "ca.pem"}, "need --nats"},
		{"missing creds file", []string{"--nats", "nats://127.0.0.1:1", "--nats-creds", "/nonexistent/x.creds"}, "read --nats-creds"},
		{"missing ca file", []string{"--nats", "nats://127.0.0.1:1", "--nats-tls-ca", "/nonexistent/ca.pem"}, "read --nats-tls-ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0"}, tt.args...)
			err := cli.Run(context.Background(), args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("tether hub %v: error %v, want one saying %q", tt.args, err, tt.want)
			}
			var ue *cli.UsageError
			if tt.want == "need --nats" && !errors.As(err, &ue) {
				t.Fatalf("error %v is not a usage error", err)
			}
		})
	}
}

// TestHubNATSInProcess runs tether hub --nats in this process and checks
// that it joins NATS and leaves cleanly when its context ends.
func TestHubNATSInProcess(t *testing.T) {
	ns := natstest.Start(t)
	var out natsLogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := []string{"hub", "--name", "inproc", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0", "--nats", ns.URL()}
	go func() { done <- cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "connected to NATS") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no \"connected to NATS\" in the log after 10 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tether hub --nats: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tether hub --nats still running 10 s after its context ended")
	}
	if !strings.Contains(out.String(), "hub=inproc") {
		t.Fatalf("log lacks the hub's name:\n%s", out.String())
	}
}

// natsLogBuffer is a bytes.Buffer safe for a writer and a reader at once.
type natsLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *natsLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *natsLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
