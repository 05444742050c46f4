package recovery

import (
	"context"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

func TestCandidates(t *testing.T) {
	tests := []struct {
		addr string
		want []string
	}{
		{"192.0.2.1:8123", []string{"192.0.2.1:8123", ":8123", DefaultAddr}},
		{"0.0.0.0:8080", []string{"0.0.0.0:8080"}},
		{":8080", []string{":8080"}},
		{"[::]:9000", []string{"[::]:9000", DefaultAddr}},
		{"127.0.0.1:8080", []string{"127.0.0.1:8080", ":8080"}},
	}
	for _, tt := range tests {
		if got := candidates(tt.addr, DefaultAddr); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("candidates(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestListenFallsBack: an address the machine lacks and a port another
// program holds are passed over for the next candidate, with a log line
// saying which address serves and why.
func TestListenFallsBack(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0") // every interface on this port fails too
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, port, _ := net.SplitHostPort(held.Addr().String())
	var logs tethertest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ln := listen(context.Background(), []string{"192.0.2.1:" + port, ":" + port, "127.0.0.1:0"}, log)
	if ln == nil {
		t.Fatal("no listener")
	}
	defer ln.Close()
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("listens on %s, want the last candidate", ln.Addr())
	}
	for _, want := range []string{"recovery listens on a fallback address", "wanted=192.0.2.1:" + port, "cannot assign requested address", "address already in use"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestListenKeepsTrying: when no candidate works, listen says so and tries
// again until one does, or until ctx ends.
func TestListenKeepsTrying(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := held.Addr().String()
	var logs tethertest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	got := make(chan net.Listener, 1)
	go func() { got <- listen(context.Background(), []string{addr}, log) }()
	time.Sleep(1500 * time.Millisecond) // at least one round fails
	held.Close()
	select {
	case ln := <-got:
		if ln == nil {
			t.Fatal("no listener")
		}
		ln.Close()
	case <-time.After(15 * time.Second):
		t.Fatal("listen did not take the address once it was free")
	}
	if !strings.Contains(logs.String(), "recovery cannot listen on any address; calling home anyway") {
		t.Errorf("log lacks the failed round:\n%s", logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	held, _ = net.Listen("tcp", addr)
	defer held.Close()
	go func() { got <- listen(ctx, []string{addr}, log) }()
	cancel()
	select {
	case ln := <-got:
		if ln != nil {
			t.Fatal("a listener after ctx ended")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("listen ignored ctx")
	}
}
