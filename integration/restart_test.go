package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tether/internal/callhome"
	"tether/internal/wsconn"
)

// fleet is many devices calling home in this process through the
// device's own call-home client, each recording when it connected.
type fleet struct {
	mu       sync.Mutex
	connects map[string][]time.Time // by device id
	wg       sync.WaitGroup
}

func newFleet() *fleet { return &fleet{connects: map[string][]time.Time{}} }

// start runs callhome.Run for id against the hub's device port until ctx
// ends; its connections echo what they get (so pages can check relaying).
func (f *fleet) start(ctx context.Context, hubDev, id string, minDelay, maxDelay time.Duration) {
	f.startOpts(ctx, hubDev, id, minDelay, maxDelay, 10*time.Second)
}

// startOpts is start with a keepalive interval.
func (f *fleet) startOpts(ctx context.Context, hubDev, id string, minDelay, maxDelay, ping time.Duration) {
	opts := callhome.Options{URL: "ws://" + hubDev + "/" + id, MinDelay: minDelay, MaxDelay: maxDelay, PingInterval: ping}
	serve := func(ctx context.Context, c *wsconn.Conn) error {
		f.mu.Lock()
		f.connects[id] = append(f.connects[id], time.Now())
		f.mu.Unlock()
		for {
			text, b, err := c.Read(ctx)
			if err != nil {
				return err
			}
			if err := c.WriteMessage(ctx, text, b); err != nil {
				return err
			}
		}
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		callhome.Run(ctx, opts, serve)
	}()
}

// count reports how many devices have connected at least n times.
func (f *fleet) count(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := 0
	for _, ts := range f.connects {
		if len(ts) >= n {
			k++
		}
	}
	return k
}

// waitCount waits up to d for want devices to have connected n times and
// returns how long it took.
func (f *fleet) waitCount(t *testing.T, n, want int, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for f.count(n) < want {
		if time.Since(start) > d {
			t.Fatalf("after %v only %d of %d devices connected %d times", d, f.count(n), want, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// nth returns the nth connection time of every device whose id has prefix.
func (f *fleet) nth(prefix string, n int) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for id, ts := range f.connects {
		if strings.HasPrefix(id, prefix) && len(ts) > n {
			out = append(out, time.Duration(ts[n].UnixNano()))
		}
	}
	slices.Sort(out)
	return out
}

// pageSees connects a page to id on the page port and collects the
// device's presence as seen there until it has been told online, and
// checks the device answers through the hub.
func pageSees(ctx context.Context, pageAddr, id string) ([]string, error) {
	c, err := wsconn.Dial(ctx, "ws://"+pageAddr+"/"+id, wsconn.DialOptions{})
	if err != nil {
		return nil, err
	}
	defer c.CloseNow()
	var seen []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return seen, err
		}
		switch m := string(b); {
		case strings.Contains(m, `"hub/device/connected":false`):
			seen = append(seen, "offline")
		case strings.Contains(m, `"hub/device/connected": true`):
			seen = append(seen, "online")
			if err := c.Write(ctx, []byte("hello "+id)); err != nil {
				return seen, err
			}
		case m == "hello "+id:
			return append(seen, "echoed"), nil
		}
	}
}

func TestHubRestartWithManyDevices(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	const late = 5 // devices whose first retry comes after the pages are in
	h := startHub(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	f := newFleet()
	defer f.wg.Wait()
	defer cancel()
	for i := range n {
		f.start(ctx, h.dev, fmt.Sprintf("dev-%04d", i), time.Second, 8*time.Second)
	}
	for i := range late {
		f.start(ctx, h.dev, fmt.Sprintf("late-%d", i), 6*time.Second, 8*time.Second)
	}
	took := f.waitCount(t, 1, n+late, 120*time.Second)
	t.Logf("%d devices connected in %v", n+late, took.Round(time.Millisecond))

	h.proc.Signal(syscall.SIGTERM)
	if code := h.proc.Wait(20 * time.Second); code != 0 {
		t.Fatalf("hub exit status %d on SIGTERM", code)
	}
	down := time.Now()
	h2 := startHub(t, h.devicePort)
	up := time.Now()

	// Pages of the late devices come in at once: they must hear offline, then online, then an echo.
	type result struct {
		id   string
		seen []string
		err  error
	}
	results := make(chan result, late)
	pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
	defer pcancel()
	for i := range late {
		id := fmt.Sprintf("late-%d", i)
		go func() { s, err := pageSees(pctx, h2.page, id); results <- result{id, s, err} }()
	}
	bound := 30 * time.Second
	back := f.waitCount(t, 2, n+late, bound)
	for range late {
		r := <-results
		if r.err != nil || !slices.Equal(r.seen, []string{"offline", "online", "echoed"}) {
			t.Errorf("page of %s saw %v (%v), want [offline online echoed]", r.id, r.seen, r.err)
		}
	}
	spread := f.nth("dev-", 1)
	rel := func(d time.Duration) time.Duration { return (d - time.Duration(up.UnixNano())).Round(time.Millisecond) }
	t.Logf("hub down %v; %d devices back %v after it listened again (bound %v); reconnects after listening: first %v, median %v, 90th %v, last %v",
		up.Sub(down).Round(time.Millisecond), n+late, back.Round(time.Millisecond), bound,
		rel(spread[0]), rel(spread[len(spread)/2]), rel(spread[len(spread)*9/10]), rel(spread[len(spread)-1]))
	if spread[len(spread)-1]-spread[0] < 100*time.Millisecond {
		t.Errorf("%d reconnects within %v: no jitter", len(spread), spread[len(spread)-1]-spread[0])
	}
	h2.alive(t)
}
