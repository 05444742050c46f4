package natsbroker_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/hub"
	"tether/internal/hub/broker/natsbroker"
	"tether/internal/hub/broker/natsbroker/natstest"
)

// serveHub runs a hub named name in this process on the NATS at url.
func serveHub(t *testing.T, name, url string) *hubProc {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	b := natsbroker.New(natsbroker.Options{URL: url, Hub: name, Heartbeat: 200 * time.Millisecond,
		ReconnectWait: 50 * time.Millisecond, Logger: quiet})
	h := hub.New(hub.Options{Name: name, Broker: b, Logger: quiet})
	devLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, devLn, pageLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub %s: %v", name, err)
		}
	})
	return &hubProc{name: name, dev: devLn.Addr().String(), page: pageLn.Addr().String()}
}

// TestRepeatedOutagesInProcess runs two hubs in this process and takes
// their NATS server away and back several times: relay recovers each time
// and the number of goroutines does not grow.
func TestRepeatedOutagesInProcess(t *testing.T) {
	ns := natstest.Start(t)
	a, b := serveHub(t, "A", ns.URL()), serveHub(t, "B", ns.URL())
	dev := a.device(t, "o1")
	b.waitListed(t, "o1", "A")
	page := b.pageOf(t, "o1")
	page.expectConnected(true)
	var before int
	for round := range 4 {
		if round == 1 {
			runtime.GC()
			before = runtime.NumGoroutine()
		}
		ns.Shutdown()
		if reason := page.expectConnected(false); !strings.Contains(reason, "unreachable") {
			t.Fatalf("round %d: reason %q, want unreachable", round, reason)
		}
		ns.Restart()
		page.expectConnected(true)
		page.send(websocket.MessageText, "ping")
		dev.expectText("ping")
		waitSent(t, dev, page, "pong")
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+3 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d after the outages, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSent has dev send msg every 50 ms until page gets it: right after
// NATS comes back, hub A may not yet know that hub B has the page again.
func waitSent(t *testing.T, dev, page *wsClient, msg string) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := dev.ws.Write(ctx, websocket.MessageText, []byte(msg))
			cancel()
			if err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	page.expectText(msg)
}
