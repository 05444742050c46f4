package natsbroker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/hub"
	"tether/internal/hub/broker/natsbroker"
	"tether/internal/hub/broker/natsbroker/natstest"
)

// serveHub runs a hub named name in this process on the NATS at url
// ("" for a hub on its own). Its broker beats at the default 2 s: these
// tests are not about a silent hub, and a shorter beat (250 ms, forgotten
// after 875 ms) had one hub forget the other while a loaded machine held
// their beats up, and drop the messages of that gap as documented
// (docs/NATS.md), failing the test with a gap in the sequence.
func serveHub(t testing.TB, name, url string, tweak ...func(*hub.Options)) *hubProc {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	o := hub.Options{Name: name, Logger: quiet}
	if url != "" { // else in-process routing
		o.Broker = natsbroker.New(natsbroker.Options{URL: url, Hub: name, ReconnectWait: 50 * time.Millisecond, Logger: quiet})
	}
	for _, f := range tweak {
		f(&o)
	}
	h := hub.New(o)
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
func waitSent(t testing.TB, dev, page *wsClient, msg string) {
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

// TestSlowPageAcrossNATS has a page on hub B that never reads: hub B closes
// it as a slow consumer, and the other page of the device on hub B gets
// every message, in order, meanwhile.
func TestSlowPageAcrossNATS(t *testing.T) {
	ns := natstest.Start(t)
	a := serveHub(t, "A", ns.URL())
	b := serveHub(t, "B", ns.URL(), func(o *hub.Options) { o.Queue, o.QueueBytes = 64, 256<<10 })
	dev := a.device(t, "s1")
	b.waitListed(t, "s1", "A")
	slow := b.pageOf(t, "s1") // never read from until the end
	fast := b.pageOf(t, "s1")
	fast.expectConnected(true)
	waitSent(t, dev, fast, "warm-up")

	const n = 1500
	payload := strings.Repeat("x", 8<<10)
	var received atomic.Int64
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		next := 0
		for next < n {
			_, data, err := fast.ws.Read(ctx)
			if err != nil {
				got <- fmt.Errorf("fast page after %d messages: %w", next, err)
				return
			}
			if s := string(data); strings.HasPrefix(s, "m") {
				if want := fmt.Sprintf("m%05d", next); !strings.HasPrefix(s, want) {
					got <- fmt.Errorf("fast page got %.6s, want %s", s, want)
					return
				}
				next++
				received.Store(int64(next))
			}
		}
		got <- nil
	}()
	for i := range n {
		// At most 16 in flight to the reading page, so that only the page
		// that does not read falls behind.
		for deadline := time.Now().Add(30 * time.Second); int64(i)-received.Load() > 16; {
			if time.Now().After(deadline) {
				t.Fatalf("fast page stuck at %d of %d", received.Load(), i)
			}
			select {
			case err := <-got:
				t.Fatalf("after %d sent: %v", i, err)
			case <-time.After(time.Millisecond):
			}
		}
		dev.send(websocket.MessageText, fmt.Sprintf("m%05d", i)+payload)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// Its connection ends: with 1008, or cut when even the close frame
	// could not be written to it in time.
	if code, reason := slow.closeStatus(); code != websocket.StatusPolicyViolation && code != -1 {
		t.Fatalf("slow page closed with %d %q, want 1008 slow consumer", code, reason)
	}
	resp, err := http.Get("http://" + b.page + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `tether_hub_slow_consumer_closes_total{role="page"} 1`) {
		t.Fatalf("hub B's metrics lack one slow page closed:\n%s", body)
	}
}
