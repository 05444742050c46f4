package device_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/apps"
	_ "tether/internal/apps/recovery"
	"tether/internal/config"
	"tether/internal/device"
	"tether/internal/logring"
	"tether/internal/tethertest"
)

// Test apps, registered in the test binary beside the real recovery app.
var starts sync.Map // app name → *int (guarded by startsMu)
var startsMu sync.Mutex

func count(name string) {
	startsMu.Lock()
	defer startsMu.Unlock()
	v, _ := starts.LoadOrStore(name, new(int))
	*v.(*int)++
}

func reset(name string) { starts.Delete(name) }

func started(name string) int {
	startsMu.Lock()
	defer startsMu.Unlock()
	v, ok := starts.Load(name)
	if !ok {
		return 0
	}
	return *v.(*int)
}

// fatalError asks the supervisor not to restart.
type fatalError struct{}

func (fatalError) Error() string   { return "cannot work without its hardware" }
func (fatalError) NoRestart() bool { return true }

func init() {
	register := func(name string, run func(ctx context.Context, env *apps.Env) error) {
		apps.Register(name, func() apps.App {
			return apps.Func(func(ctx context.Context, env *apps.Env) error {
				count(name)
				return run(ctx, env)
			})
		})
	}
	register("test-panic", func(context.Context, *apps.Env) error { panic("boom on purpose") })
	register("test-fail", func(context.Context, *apps.Env) error { return errors.New("broken on purpose") })
	register("test-quit", func(context.Context, *apps.Env) error { return nil })
	register("test-fatal", func(context.Context, *apps.Env) error { return fmt.Errorf("start: %w", fatalError{}) })
	register("test-serve", func(ctx context.Context, env *apps.Env) error {
		env.Ready(map[string]string{"probe": "serving"})
		<-ctx.Done()
		return nil
	})
}

func appJSON(app string) string {
	return `{
    "app": "` + app + `",
    "echoserver": {"listen_addr": "127.0.0.1", "listen_port": 7777},
    "demo": {"http": {"ip": "127.0.0.1", "port": 8080}, "websocket": {"ip": "127.0.0.1", "port": 8081},
             "home": {"ip": "127.0.0.1", "port": 7770}}
}
`
}

type ready struct {
	app   string
	addrs map[string]string
}

// rig is a device running in-process.
type rig struct {
	dev    *device.Device
	ring   *logring.Ring
	ready  chan ready
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, opts device.Options) *rig {
	t.Helper()
	r := &rig{ring: logring.New(500), ready: make(chan ready, 16), done: make(chan error, 1)}
	opts.Log = r.ring
	if opts.Net == "" {
		opts.Net = "sim"
	}
	opts.RecoveryAddr = "127.0.0.1:0"
	if opts.RestartDelay == 0 {
		opts.RestartDelay = 5 * time.Millisecond
	}
	opts.Ready = func(app string, addrs map[string]string) { r.ready <- ready{app, addrs} }
	r.dev = device.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.dev.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run still running 10 s after its context ended")
		}
		if t.Failed() {
			t.Logf("device log:\n%s", strings.Join(r.ring.Lines(), "\n"))
		}
	})
	return r
}

// await waits for app to serve and returns its addresses.
func (r *rig) await(t *testing.T, app string) map[string]string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-r.ready:
			if got.app == app {
				return got.addrs
			}
		case err := <-r.done:
			t.Fatalf("Run returned %v before %q served", err, app)
		case <-deadline:
			t.Fatalf("%q not serving after 20 s; status %+v", app, r.dev.Status())
		}
	}
}

func (r *rig) logged(s string) bool {
	for _, l := range r.ring.Lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := tethertest.DeviceClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := tethertest.DeviceClient.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestFailuresEndInRecovery(t *testing.T) {
	tests := []struct {
		app    string
		starts int
		reason string
		logged []string
	}{
		{"test-panic", 3, `app "test-panic" failed 3 times within 1m0s; last: panic: boom on purpose`,
			[]string{`attempt 3, starting app \"test-panic\"`, "app panicked", "goroutine ", "device_test.init"}},
		{"test-fail", 3, `app "test-fail" failed 3 times within 1m0s; last: broken on purpose`,
			[]string{`attempt 3, starting app \"test-fail\"`, "app failed", "restarting app after a delay"}},
		{"test-quit", 3, `app "test-quit" failed 3 times within 1m0s; last: app returned before it was asked to stop`, nil},
		{"test-fatal", 1, `app "test-fatal" failed and asks not to be restarted: start: cannot work without its hardware`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			reset(tt.app)
			r := run(t, device.Options{Root: tethertest.SeedRootApp(t, appJSON(tt.app))})
			addrs := r.await(t, "recovery")
			if got := started(tt.app); got != tt.starts {
				t.Errorf("starts: got %d, want %d", got, tt.starts)
			}
			if st := r.dev.Status(); st.App != "recovery" || st.Reason != tt.reason {
				t.Errorf("status: got %+v, want recovery with reason %q", st, tt.reason)
			}
			for _, s := range tt.logged {
				if !r.logged(s) {
					t.Errorf("log lacks %q", s)
				}
			}
			if page := get(t, "http://"+addrs["http"]+"/api/status"); !strings.Contains(page, "failed") {
				t.Errorf("recovery status does not say why: %s", page)
			}
		})
	}
}

func TestStraightToRecovery(t *testing.T) {
	tests := []struct {
		name, app, net string
		edit           func(string) string
		reason         []string
	}{
		{"unknown app", "nosuchapp", "", nil,
			[]string{`unknown app "nosuchapp"; registered: `, "recovery", "test-serve"}},
		{"syntax error", "test-serve", "", func(s string) string { return strings.Replace(s, `"demo": {`, `"demo": {,`, 1) },
			[]string{"app.json:4:14: invalid character"}},
		{"string port", "test-serve", "", func(s string) string { return strings.Replace(s, `"port": 8080`, `"port": "eighty"`, 1) },
			[]string{"app.json:4:50: demo.http.port: ", `got "eighty"`}},
		{"unknown backend", "test-serve", "wifi", nil, []string{`"wifi"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tethertest.SeedRootApp(t, appJSON(tt.app))
			if tt.edit != nil {
				path := filepath.Join(root, config.AppFile)
				b, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(tt.edit(string(b))), 0o644)
			}
			r := run(t, device.Options{Root: root, Net: tt.net})
			addrs := r.await(t, "recovery")
			page := get(t, "http://"+addrs["http"]+"/api/status")
			for _, want := range tt.reason {
				if !strings.Contains(r.dev.Status().Reason, want) {
					t.Errorf("reason: got %q, want it to hold %q", r.dev.Status().Reason, want)
				}
				if !strings.Contains(page, strings.ReplaceAll(want, `"`, `\"`)) {
					t.Errorf("recovery status lacks %q: %s", want, page)
				}
			}
		})
	}
}

func TestRepairAndRestart(t *testing.T) {
	root := tethertest.SeedRootApp(t, appJSON("nosuchapp"))
	r := run(t, device.Options{Root: root})
	url := "http://" + r.await(t, "recovery")["http"]
	if code, body := post(t, url+"/api/config/app.json", strings.Replace(appJSON("test-serve"), "7777", `"x"`, 1)); code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid save: got %d %s, want 422", code, body)
	}
	if code, body := post(t, url+"/api/config/app.json", appJSON("test-serve")); code != http.StatusOK {
		t.Fatalf("save: got %d %s", code, body)
	}
	if code, body := post(t, url+"/api/restart", ""); code != http.StatusAccepted {
		t.Fatalf("restart: got %d %s", code, body)
	}
	if addrs := r.await(t, "test-serve"); addrs["probe"] != "serving" {
		t.Errorf("ready addresses: got %v", addrs)
	}
	if st := r.dev.Status(); st.Boots != 2 || st.App != "test-serve" || st.Reason != "" {
		t.Errorf("status after repair: got %+v, want boot 2 running test-serve", st)
	}
}

func TestShutdownStopsApp(t *testing.T) {
	r := run(t, device.Options{Root: tethertest.SeedRootApp(t, appJSON("test-serve"))})
	r.await(t, "test-serve")
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("Run: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10 s after its context ended")
	}
	if got := started("test-serve"); got < 1 {
		t.Errorf("test-serve started %d times", got)
	}
	if !r.logged("device stopped") {
		t.Error(`log lacks "device stopped"`)
	}
}
