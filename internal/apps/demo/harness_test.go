package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"tether/internal/apps"
	"tether/internal/apps/demo"
	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/sim"
	"tether/internal/tethertest"
)

// seedApp is app.json in the seed's format with the given ports (home 0
// leaves the seed's empty home ip: no calling home) and extra demo keys.
func seedApp(httpPort, wsPort, homePort int, extra string) string {
	homeIP := "127.0.0.1"
	if homePort == 0 {
		homeIP, homePort = "", 7770
	}
	return fmt.Sprintf(`{
    "app": "demo",
    "echoserver": {"listen_addr": "127.0.0.1", "listen_port": 7777},
    "demo": {
        "http": {"ip": "127.0.0.1", "port": %d},
        "websocket": {"ip": "127.0.0.1", "port": %d},
        "home": {"ip": %q, "port": %d}%s
    }
}`, httpPort, wsPort, homeIP, homePort, extra)
}

// running is a demo app started in-process.
type running struct {
	root  string
	addrs map[string]string
	net   *netif.Manager
	stop  func() error // cancels and waits for Run's result
}

func (r *running) wsURL() string   { return "ws://" + r.addrs["ws"] + "/" }
func (r *running) httpURL() string { return "http://" + r.addrs["http"] }

// start runs the demo app on a root holding appJSON, on the sim network.
func start(t *testing.T, appJSON string) *running {
	t.Helper()
	return startRoot(t, tethertest.SeedRootApp(t, appJSON))
}

func startRoot(t *testing.T, root string) *running {
	t.Helper()
	cfg, problems, err := config.Load(root)
	if err != nil {
		t.Fatalf("load config: %v %v", err, problems)
	}
	radio := sim.New(sim.Options{JoinDelay: 20 * time.Millisecond, Seed: "Device_1"})
	nm := netif.NewManager(netif.Options{Backend: radio, Station: cfg.Network.STA, Device: "Device_1",
		Grace: 50 * time.Millisecond, JoinTimeout: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	netDone := make(chan struct{})
	go func() { defer close(netDone); nm.Run(ctx) }()
	ready := make(chan map[string]string, 1)
	env := &apps.Env{Config: cfg, Net: nm, Logger: testLogger(t), Ready: func(a map[string]string) { ready <- a }}
	ctor, ok := apps.Lookup("demo")
	if !ok {
		t.Fatal(`no app "demo" registered`)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- ctor().Run(ctx, env) }()
	r := &running{root: root, net: nm}
	var once sync.Once
	var result error
	r.stop = func() error {
		once.Do(func() { result = stopRun(t, cancel, runErr, netDone) })
		return result
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("demo Run returned %v at shutdown, want nil", err)
		}
	})
	select {
	case r.addrs = <-ready:
	case err := <-runErr:
		t.Fatalf("demo Run ended before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("demo app not ready within 10 s")
	}
	return r
}

// stopRun cancels the app and waits for its result.
func stopRun(t *testing.T, cancel func(), runErr chan error, netDone chan struct{}) error {
	cancel()
	var err error
	select {
	case err = <-runErr:
	case <-time.After(10 * time.Second):
		t.Error("demo app did not stop within 10 s of its context ending")
	}
	<-netDone
	return err
}

var _ = demo.FakeInterface

// testLogger logs into a buffer that is printed if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	var buf logBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("device log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }
