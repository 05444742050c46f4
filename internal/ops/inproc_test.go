package ops_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/devlog"
	"tether/internal/netif"
	"tether/internal/netif/host"
	"tether/internal/ops"
	"tether/internal/tethertest"
	"tether/internal/wire"
	"tether/internal/wsconn"
)

// served is a Service's session on a command API served on a real socket.
type served struct {
	svc      *ops.Service
	url      string
	restarts atomic.Int32
	failing  atomic.Bool  // the app fails at each restart
	failure  atomic.Value // string: the app's last failure, as the supervisor has it
}

// wantRestarts waits up to 5 s for the session's n-th restart (a
// handler restarts after its reply and state are queued, so a client may
// read them first) and fails unless there were exactly n (why says which).
func (sv *served) wantRestarts(t *testing.T, n int32, why string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); sv.restarts.Load() < n && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := sv.restarts.Load(); got != n {
		t.Errorf("%d restarts, want %d (%s)", got, n, why)
	}
}

func serve(t *testing.T, opts ops.Options) *served {
	t.Helper()
	sv := &served{}
	opts.Health = func() ops.Health {
		h := ops.Health{App: "demo"}
		if sv.failing.Load() {
			h.Failures = int(sv.restarts.Load())
		}
		if f, _ := sv.failure.Load().(string); f != "" {
			h.Failures, h.Restarts, h.LastFailure, h.LastFailureAt = 1, 1, f, time.Unix(1767355200, 0)
		}
		return h
	}
	sv.svc = ops.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sv.svc.Run(ctx) })
	ss := sv.svc.Session(func() { sv.restarts.Add(1) }, nil, sv.svc.Revision())
	api := cmdapi.New(cmdapi.Options{State: func() wire.Message {
		m := wire.Message{"iam": "Device_1"}
		ss.AddState(m)
		return m
	}})
	ss.Register(api)
	wg.Go(func() { ss.Run(ctx, api) })
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
		if err == nil {
			api.Serve(r.Context(), c)
		}
	}))
	ss.HomeReport(nil) // on its hub
	t.Cleanup(func() { cancel(); api.Close(); hs.Close(); wg.Wait() })
	sv.url = "ws" + strings.TrimPrefix(hs.URL, "http")
	return sv
}

func dial(t *testing.T, url string) *tethertest.WS {
	t.Helper()
	return tethertest.DialWS(t, url, tethertest.WSOptions{})
}

// A chatty app cannot flood a follower: what it is sent stays within the
// rate, what is over is dropped and reported, and every line is accounted
// for (sent, or counted as dropped), while the logger never waits.
func TestLiveLogIsBounded(t *testing.T) {
	dlog := devlog.New(devlog.Options{})
	sv := serve(t, ops.Options{Log: dlog})
	c := dial(t, sv.url)
	c.ExpectKey("iam", nil)
	c.Request("CMD", "log_subscribe", []any{"info"})
	sub := c.ExpectKey("log/subscribed", nil)
	if sub["log/subscribed"] != "info" || sub["log/lease"] != float64(300) {
		t.Fatalf("subscribe reply %v", sub)
	}

	log := slog.New(devlog.NewHandler(dlog))
	const n = 5000
	start := time.Now()
	for i := range n {
		log.Info("chatty", "i", i, "pad", strings.Repeat("x", 100))
	}
	wrote := time.Since(start)
	got, dropped := 0, 0
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for got+dropped < n {
		_, b, err := c.Conn.Read(ctx)
		if err != nil {
			break
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if lines, ok := m["log/lines"].([]any); ok {
			got += len(lines)
		}
		if d, ok := m["log/dropped"].(float64); ok {
			dropped += int(d)
		}
	}
	elapsed := time.Since(start).Seconds()
	t.Logf("%d lines logged in %v: %d sent, %d dropped in %.1f s", n, wrote, got, dropped, elapsed)
	if got+dropped != n {
		t.Errorf("%d sent + %d dropped, want the %d logged accounted for", got, dropped, n)
	}
	if limit := int(100*elapsed) + 100; got > limit || dropped == 0 {
		t.Errorf("%d lines sent in %.1f s (want at most %d), %d dropped", got, elapsed, limit, dropped)
	}
	c.Request("GET", "sys", []any{})
	s := c.ExpectKey("sys/log/dropped", nil)
	if s["sys/log/dropped"].(float64) < float64(dropped) {
		t.Errorf("sys/log/dropped %v, want at least %d", s["sys/log/dropped"], dropped)
	}
	c.Request("CMD", "log_unsubscribe", []any{})
	c.ExpectObject("log/subscribed \"\"", func(m map[string]any) bool { return m["log/subscribed"] == "" })
	log.Info("after unsubscribe")
	c.Request("GET", "sys", []any{})
	c.ExpectObject("sys/app, no log/lines", func(m map[string]any) bool {
		if lines, ok := m["log/lines"]; ok {
			t.Errorf("a line after unsubscribe: %v", lines)
		}
		return m["sys/app"] != nil
	})
}

// A subscription at warn gets only warnings and errors, the backlog too.
func TestLiveLogLevel(t *testing.T) {
	dlog := devlog.New(devlog.Options{})
	log := slog.New(devlog.NewHandler(dlog))
	log.Info("old info")
	log.Warn("old warning")
	sv := serve(t, ops.Options{Log: dlog})
	c := dial(t, sv.url)
	c.Request("CMD", "log_subscribe", []any{"warn"})
	sub := c.ExpectKey("log/recent", nil)
	if recent := sub["log/recent"].([]any); len(recent) != 1 || !strings.Contains(recent[0].(string), "old warning") {
		t.Errorf("backlog at warn: %v", recent)
	}
	log.Info("new info")
	log.Error("new error")
	m := c.ExpectKey("log/lines", nil)
	if lines := m["log/lines"].([]any); len(lines) != 1 || !strings.Contains(lines[0].(string), "new error") {
		t.Errorf("lines at warn: %v", lines)
	}
	c.Request("CMD", "log_subscribe", []any{"verbose"})
	if e := c.ExpectKey("error", nil); !strings.Contains(e["error"].(string), `want info, warn or error, got "verbose"`) {
		t.Errorf("bad level: %v", e)
	}
}

// The confirm window in process, with a device whose health the test
// sets: unconfirmed and healthy, a change is kept; unconfirmed with the
// app failing since, it is reverted and the device restarted; and a
// change cannot be applied over another.
func TestWindowOutcomes(t *testing.T) {
	root := tethertest.SeedRoot(t, "demo", 8080, 8080, 7770, 7777)
	original, _ := os.ReadFile(filepath.Join(root, "app.json"))
	sv := serve(t, ops.Options{Root: root, Window: 1500 * time.Millisecond})
	c := dial(t, sv.url)
	c.ExpectKey("iam", nil)
	changed := strings.Replace(string(original), `"port": 8080`, `"port": 8081`, 1)

	c.Request("CMD", "apply_config", []any{"app.json", changed})
	c.ExpectObject("applied app.json", func(m map[string]any) bool { return strings.HasPrefix(str(m["info"]), "applied app.json") })
	c.Request("CMD", "apply_config", []any{"app.json", changed})
	c.ExpectObject("still in its confirm window", func(m map[string]any) bool { return strings.Contains(str(m["error"]), "still in its confirm window") })
	m := c.ExpectObject("outcome kept", func(m map[string]any) bool { return m["config/apply/outcome"] == "kept" })
	if !strings.HasPrefix(str(m["config/apply/result"]), "kept app.json: on the hub and the app ran without failure") {
		t.Errorf("kept: %v", m["config/apply/result"])
	}
	if sv.restarts.Load() != 1 {
		t.Errorf("%d restarts after apply, want 1", sv.restarts.Load())
	}

	again := strings.Replace(changed, `"port": 8081`, `"port": 8082`, 1)
	sv.failing.Store(true) // the restart that applies it fails
	c.Request("CMD", "apply_config", []any{"app.json", again})
	c.ExpectObject("applied app.json", func(m map[string]any) bool { return strings.HasPrefix(str(m["info"]), "applied app.json") })
	m = c.ExpectObject("outcome reverted", func(m map[string]any) bool { return m["config/apply/outcome"] == "reverted" })
	if res := str(m["config/apply/result"]); !strings.Contains(res, "the app has failed since the change (1 failures)") {
		t.Errorf("reverted: %s", res)
	}
	if now, _ := os.ReadFile(filepath.Join(root, "app.json")); string(now) != changed {
		t.Errorf("app.json after the revert:\n%s\nwant the kept change:\n%s", now, changed)
	}
	sv.wantRestarts(t, 3, "two applies, one revert") // the revert announces, then restarts
	c.Request("CMD", "confirm_config", []any{})
	c.ExpectObject("no config change is in its confirm window", func(m map[string]any) bool {
		return strings.Contains(str(m["error"]), "no config change is in its confirm window")
	})
}

// A device without a root has nothing to edit; bad arguments are named.
func TestConfigRefusals(t *testing.T) {
	sv := serve(t, ops.Options{})
	c := dial(t, sv.url)
	for _, tt := range []struct {
		args []any
		want string
	}{
		{[]any{"app.json", "{}"}, "no device root"},
		{[]any{"app.json"}, "want arguments [file, text] or [file, text, file, text]"},
		{[]any{"other.json", "{}"}, `argument 1 (file): want network.json or app.json, got "other.json"`},
		{[]any{"app.json", "{}", 2}, "want a confirm window of 5 to 3600 in seconds, got 2"},
		{[]any{"app.json", "{}", "app.json", "{}"}, "app.json given twice"},
	} {
		c.Request("CMD", "apply_config", append([]any{}, tt.args...))
		e := c.ExpectKey("error", nil)
		if !strings.Contains(str(e["error"]), tt.want) {
			t.Errorf("apply_config %v: %v, want %q", tt.args, e["error"], tt.want)
		}
	}
	c.Request("GET", "config", []any{})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "no device root") {
		t.Errorf("GET config: %v", e)
	}
	c.Request("GET", "wifi_scan", []any{})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "wifi_scan: no network") {
		t.Errorf("GET wifi_scan: %v", e)
	}
}

// The host backend cannot scan, and says so.
func TestScanOnHost(t *testing.T) {
	svc := ops.New(ops.Options{})
	n := netif.NewManager(netif.Options{Backend: host.New(host.Options{})})
	ss := svc.Session(nil, n, svc.Revision())
	api := cmdapi.New(cmdapi.Options{})
	ss.Register(api)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{}); err == nil {
			api.Serve(r.Context(), c)
		}
	}))
	t.Cleanup(func() { api.Close(); hs.Close() })
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"))
	c.Request("GET", "wifi_scan", []any{})
	if e := c.ExpectKey("error", nil); str(e["error"]) != "wifi_scan: scan: not supported by the host backend" {
		t.Errorf("GET wifi_scan on host: %v", e)
	}
	c.Request("CMD", "restart", []any{})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "outside a device") {
		t.Errorf("CMD restart without a device: %v", e)
	}
}

func str(v any) string { s, _ := v.(string); return s }

// GET sys says the app's last failure on one line that keeps what matters:
// a process app's is its exit and the last lines of its standard error,
// whose last line (a traceback's exception) is the cause.
func TestSysSaysTheLastFailure(t *testing.T) {
	for _, tt := range []struct{ failure, want string }{
		{"panic: sensor gone", "panic: sensor gone"},
		{"program python3 exited with status 1; the last lines of its standard error:\n  reading the sensor\n" +
			"  Traceback (most recent call last):\n  OSError: [Errno 5] sensor gone",
			"program python3 exited with status 1; the last lines of its standard error: … OSError: [Errno 5] sensor gone"},
		{"program sh exited with status 3; the last lines of its standard error:\n  boom\n",
			"program sh exited with status 3; the last lines of its standard error: boom"},
	} {
		sv := serve(t, ops.Options{})
		sv.failure.Store(tt.failure)
		c := dial(t, sv.url)
		c.Request("GET", "sys", []any{})
		m := c.ExpectKey("sys/app/last_failure", nil)
		if got := str(m["sys/app/last_failure"]); got != tt.want {
			t.Errorf("sys/app/last_failure of %q:\n got %q\nwant %q", tt.failure, got, tt.want)
		}
		if m["sys/app/restarts"] != 1.0 || m["sys/app/last_failure/time"] != 1767355200.0 {
			t.Errorf("restarts %v, last failure at %v", m["sys/app/restarts"], m["sys/app/last_failure/time"])
		}
	}
}
