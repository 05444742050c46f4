package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// idleServer accepts device connections (refusing ids whose number is odd
// when refuseOdd is set), pings each one every 20 ms and counts the pongs.
type idleServer struct {
	refuseOdd bool
	accepted  atomic.Int64
	pongs     atomic.Int64
}

func (s *idleServer) handle(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/idle-"))
	if s.refuseOdd && n%2 == 1 {
		http.Error(w, "no", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	s.accepted.Add(1)
	ctx := c.CloseRead(r.Context()) // a reader, so pongs are seen
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
			s.pongs.Add(1)
		}
	}
}

func TestIdle(t *testing.T) {
	tests := []struct {
		name      string
		refuseOdd bool
		devices   int
		connected int
	}{
		{"all accepted", false, 40, 40},
		{"odd ids refused", true, 40, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &idleServer{refuseOdd: tt.refuseOdd}
			var tr tracked
			url := serve(t, tr.wrap(t, s.handle))
			var lines atomic.Int64
			res, err := Idle(context.Background(), IdleOptions{URL: url, Devices: tt.devices, Ramp: 400,
				Hold: 300 * time.Millisecond, PID: os.Getpid(), Interval: 50 * time.Millisecond,
				Progress: func(string) { lines.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Connected != tt.connected || res.Failures != tt.devices-tt.connected || res.Dropped != 0 {
				t.Errorf("got %+v, want %d connected, %d failures, none dropped", res, tt.connected, tt.devices-tt.connected)
			}
			if tt.refuseOdd && !strings.Contains(res.FirstErr, "got HTTP 403, want 101") {
				t.Errorf("first error: got %q, want the refusal", res.FirstErr)
			}
			if int(s.accepted.Load()) != tt.connected || s.pongs.Load() < int64(tt.connected) {
				t.Errorf("server: accepted %d, %d pongs; want %d accepted and pongs from each", s.accepted.Load(), s.pongs.Load(), tt.connected)
			}
			if res.RSSBefore <= 0 || res.RSSAfter <= 0 || res.NoFile == 0 {
				t.Errorf("got RSS %d → %d, nofile %d; want all positive", res.RSSBefore, res.RSSAfter, res.NoFile)
			}
			if lines.Load() == 0 {
				t.Error("no progress lines")
			}
		})
	}
}

func TestRSS(t *testing.T) {
	if n, err := RSS(os.Getpid()); err != nil || n < 1<<20 {
		t.Errorf("RSS of this test: got %d, %v; want at least 1 MiB", n, err)
	}
	if _, err := RSS(1 << 30); err == nil || !strings.Contains(err.Error(), "read rss") {
		t.Errorf("RSS of no process: got %v, want a read rss error", err)
	}
}

// TestIdleState: with State, each connection's first message is a state
// object naming its own id, with the app and system keys a dashboard shows.
func TestIdleState(t *testing.T) {
	var mu sync.Mutex
	got := map[string]map[string]any{}
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, b, err := c.Read(r.Context())
		var m map[string]any
		if err != nil || json.Unmarshal(b, &m) != nil {
			return
		}
		mu.Lock()
		got[strings.TrimPrefix(r.URL.Path, "/")] = m
		mu.Unlock()
		c.Read(r.Context()) // until the bench closes
	}))
	res, err := Idle(context.Background(), IdleOptions{URL: url, Devices: 5, State: true, Hold: 200 * time.Millisecond})
	if err != nil || res.Connected != 5 {
		t.Fatalf("got %+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 5 {
		t.Fatalf("state objects from %d connections, want 5: %v", len(got), got)
	}
	for id, m := range got {
		if m["iam"] != id || m["app"] != "idle" || m["sys/uptime"] == nil || len(m["sys/load"].([]any)) != 3 || m["sys/mem/total"] == nil {
			t.Errorf("%s sent %v", id, m)
		}
	}
}
