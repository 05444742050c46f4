package recovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/apps"
	_ "tether/internal/apps/demo" // the apps a save may name, as in the binary
	_ "tether/internal/apps/echoserver"
	"tether/internal/apps/recovery"
	"tether/internal/config"
	"tether/internal/logring"
	"tether/internal/tethertest"
)

// seedApp is app.json in the seed's format, naming app.
func seedApp(app string) string {
	return `{
    "app": "` + app + `",
    "echoserver": {
        "listen_addr": "127.0.0.1",
        "listen_port": 7777
    },
    "demo": {
        "http": {
            "ip": "127.0.0.1",
            "port": 8080
        },
        "websocket": {
            "ip": "127.0.0.1",
            "port": 8081
        },
        "home": {
            "ip": "127.0.0.1",
            "port": 7770
        }
    }
}
`
}

const seedNetwork = tethertest.SeedNetwork

// rig is a recovery app running in-process on a free port.
type rig struct {
	root     string
	url      string // http://127.0.0.1:PORT
	restarts atomic.Int32
	cancel   context.CancelFunc
	done     chan error
}

func start(t *testing.T, reason error) *rig {
	t.Helper()
	return startWith(t, reason, nil)
}

// startWith is start with the loaded config changed by edit.
func startWith(t *testing.T, reason error, edit func(*config.Config)) *rig {
	t.Helper()
	root := tethertest.SeedRootApp(t, seedApp("nosuchapp"))
	cfg, _, err := config.Load(root)
	if err != nil {
		t.Fatalf("load seed root: %v", err)
	}
	if edit != nil {
		edit(cfg)
	}
	ring := logring.New(50)
	ring.Write([]byte("level=ERROR msg=\"an earlier <b>failure</b>\"\n"))
	r := &rig{root: root, done: make(chan error, 1)}
	addrs := make(chan string, 1)
	env := &apps.Env{
		Config:       cfg,
		Logger:       slog.New(slog.NewTextHandler(ring, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Log:          ring,
		Reason:       reason,
		Restart:      func() { r.restarts.Add(1) },
		RecoveryAddr: "127.0.0.1:0",
		Ready:        func(a map[string]string) { addrs <- a["http"] },
	}
	ctor, ok := apps.Lookup("recovery")
	if !ok {
		t.Fatal(`no "recovery" app registered`)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- ctor().Run(ctx, env) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("recovery log:\n%s", strings.Join(ring.Lines(), "\n"))
		}
	})
	select {
	case a := <-addrs:
		r.url = "http://" + a
	case err := <-r.done:
		t.Fatalf("recovery ended before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("recovery not serving after 10 s")
	}
	return r
}

// awaitRestarts waits for n restarts: a reply goes out before the
// restart it announces.
func (r *rig) awaitRestarts(t *testing.T, n int32) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); r.restarts.Load() < n && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.restarts.Load(); got != n {
		t.Errorf("restarts: got %d, want %d", got, n)
	}
}

// stop ends the app and checks that Run returned nil.
func (r *rig) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: got %v, want nil after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run still running 10 s after its context ended")
	}
}

func write(t *testing.T, root, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// do sends a request and returns the status code and body.
func do(t *testing.T, method, url string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func jsonBody(text string) string {
	b, _ := json.Marshal(map[string]string{"text": text})
	return string(b)
}

func TestPageSaysWhyEscaped(t *testing.T) {
	r := start(t, errors.New(`unknown app "<script>alert(1)</script>"; registered: demo`))
	code, page := do(t, "GET", r.url+"/", nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", code)
	}
	for _, want := range []string{
		"unknown app &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;", // the reason, escaped
		"an earlier &lt;b&gt;failure&lt;/b&gt;",                       // the log, escaped
		"&#34;app&#34;: &#34;nosuchapp&#34;",                          // app.json in its textarea
		"&lt;device AP ssid&gt;",                                      // network.json too
		`src="static/recovery.js"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>failure") {
		t.Error("page holds unescaped text from the reason or the log")
	}
	for _, asset := range []string{"/static/recovery.js", "/static/style.css"} {
		if code, _ := do(t, "GET", r.url+asset, nil, ""); code != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", asset, code)
		}
	}
}

func TestConfigError(t *testing.T) {
	root := t.TempDir()
	write(t, root, config.AppFile, strings.Replace(seedApp("demo"), `"port": 8080`, `"port": "eighty"`, 1))
	_, _, err := config.Load(root)
	if err == nil {
		t.Fatal("a string port loaded")
	}
	r := start(t, err)
	_, page := do(t, "GET", r.url+"/", nil, "")
	if !strings.Contains(page, "app.json:10:21: demo.http.port:") {
		t.Errorf("page does not locate the problem as app.json:10:21: demo.http.port:\n%s", page)
	}
}

func TestAPI(t *testing.T) {
	r := start(t, errors.New(`unknown app "nosuchapp"`))
	fixed := seedApp("echoserver")
	broken := strings.Replace(fixed, `"listen_port": 7777`, `"listen_port": "eighty"`, 1)
	json := http.Header{"Content-Type": {"application/json"}}
	cross := http.Header{"Content-Type": {"application/json"}, "Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	same := http.Header{"Content-Type": {"application/json"}, "Origin": {r.url}, "Sec-Fetch-Site": {"same-origin"}}
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		code               int
		want               string // in the body
		app                string // app.json's app afterwards
	}{
		{"status", "GET", "/api/status", nil, "", 200, `"reason": "unknown app \"nosuchapp\""`, "nosuchapp"},
		{"status lists files", "GET", "/api/status", nil, "", 200, `"name": "network.json"`, "nosuchapp"},
		{"invalid edit refused", "POST", "/api/config/app.json", json, jsonBody(broken), 422, `app.json:5:24: echoserver.listen_port: `, "nosuchapp"},
		{"unknown app refused", "POST", "/api/config/app.json", json, jsonBody(seedApp("dmeo")), 422, `app.json:2:12: app: unknown app \"dmeo\"; registered: demo, echoserver, recovery`, "nosuchapp"},
		{"syntax error refused", "POST", "/api/config/app.json", json, jsonBody(`{"app": "demo",` + "\n" + `"demo": {,}}`), 422, `app.json:2:`, "nosuchapp"},
		{"cross-site save refused", "POST", "/api/config/app.json", cross, jsonBody(fixed), 403, `cross-origin`, "nosuchapp"},
		{"unknown file refused", "POST", "/api/config/other.json", json, jsonBody("{}"), 422, `want network.json or app.json`, "nosuchapp"},
		{"no text refused", "POST", "/api/config/app.json", json, `{"txt": 1}`, 400, `no \"text\"`, "nosuchapp"},
		{"too big refused", "POST", "/api/config/app.json", nil, strings.Repeat(" ", 300<<10), 413, `too large`, "nosuchapp"},
		{"wrong method", "GET", "/api/config/app.json", nil, "", 405, `want POST`, "nosuchapp"},
		{"wrong method restart", "GET", "/api/restart", nil, "", 405, `want POST`, "nosuchapp"},
		{"wrong method status", "POST", "/api/status", nil, "", 405, `want GET`, "nosuchapp"},
		{"unknown endpoint", "GET", "/api/nope", nil, "", 404, `"error"`, "nosuchapp"},
		{"same-origin save", "POST", "/api/config/app.json", same, jsonBody(fixed), 200, `"saved": "app.json"`, "echoserver"},
		{"raw text save", "POST", "/api/config/app.json", nil, seedApp("demo"), 200, `"saved": "app.json"`, "demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, tt.method, r.url+tt.path, tt.header, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s: got %d %s, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.want)
			}
			if got := read(t, r.root, config.AppFile); !strings.Contains(got, `"app": "`+tt.app+`"`) {
				t.Errorf("app.json afterwards: want app %q, got\n%s", tt.app, got)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(r.root, config.AppFile+".bak")); err != nil {
		t.Errorf("no app.json.bak after saving: %v", err)
	}
	if r.restarts.Load() != 0 {
		t.Fatal("restarted before being asked")
	}
	if code, body := do(t, "POST", r.url+"/api/restart", nil, ""); code != http.StatusAccepted {
		t.Errorf("POST /api/restart: got %d %s, want 202", code, body)
	}
	r.awaitRestarts(t, 1)
}

func TestNoRoot(t *testing.T) {
	// A recovery without a device root shows no files and refuses saves.
	env := &apps.Env{Config: config.Default(), RecoveryAddr: "127.0.0.1:0"}
	addrs := make(chan string, 1)
	env.Ready = func(a map[string]string) { addrs <- a["http"] }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&recovery.App{}).Run(ctx, env) }()
	defer func() { cancel(); <-done }()
	url := "http://" + <-addrs
	code, body := do(t, "POST", url+"/api/config/app.json", nil, seedApp("demo"))
	if code != http.StatusConflict || !strings.Contains(body, "no device root") {
		t.Errorf("save without root: got %d %s, want 409 naming the missing root", code, body)
	}
	if code, body := do(t, "POST", url+"/api/restart", nil, ""); code != http.StatusConflict {
		t.Errorf("restart outside a device: got %d %s, want 409", code, body)
	}
}

func TestAddr(t *testing.T) {
	withDemo := config.Default()
	withDemo.App.Demo.HTTP = config.Addr{IP: "127.0.0.1", Port: 8099}
	placeholder := config.Default()
	placeholder.App.Demo.HTTP = config.Addr{IP: "<ip>", Port: 80}
	tests := []struct {
		name string
		env  *apps.Env
		want string
	}{
		{"flag", &apps.Env{Config: withDemo, RecoveryAddr: "127.0.0.1:9"}, "127.0.0.1:9"},
		{"demo http", &apps.Env{Config: withDemo}, "127.0.0.1:8099"},
		{"placeholder ip", &apps.Env{Config: placeholder}, ":80"},
		{"no config", &apps.Env{}, recovery.DefaultAddr},
		{"no port", &apps.Env{Config: &config.Config{}}, recovery.DefaultAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recovery.Addr(tt.env); got != tt.want {
				t.Errorf("Addr: got %q, want %q", got, tt.want)
			}
		})
	}
}

// wsURL is r's command endpoint: any path upgrades.
func (r *rig) wsURL() string { return "ws" + strings.TrimPrefix(r.url, "http") + "/any/path" }

func dial(t *testing.T, url string, h http.Header) *tethertest.WS {
	return tethertest.DialWS(t, url, tethertest.WSOptions{Header: h})
}

func TestCommandProtocol(t *testing.T) {
	r := start(t, errors.New(`unknown app "nosuchapp"`))
	c := dial(t, r.wsURL(), nil)
	if st := c.ExpectKey("recovery", nil); st["iam"] != "Device_1" || !strings.Contains(st["recovery/reason"].(string), "nosuchapp") {
		t.Errorf("first state: got %v", st)
	}
	c.Request("GET", "status", []any{})
	if m := c.ExpectKey("recovery/reason", nil); !strings.Contains(m["recovery/file/app.json"].(string), `"nosuchapp"`) {
		t.Errorf("GET status: got %v, want app.json's text", m)
	}
	c.Request("GET", "help", []any{})
	if m := c.ExpectKey("help", nil); !strings.Contains(fmt.Sprint(m["help"]), "save_config") || !strings.Contains(fmt.Sprint(m["help"]), "file") {
		t.Errorf("GET help: got %v, want recovery's items with their arguments", m)
	}
	broken := strings.Replace(seedApp("echoserver"), `"listen_port": 7777`, `"listen_port": "eighty"`, 1)
	c.Request("CMD", "save_config", []any{"app.json", broken})
	if m := c.ExpectKey("error", nil); !strings.Contains(m["error"].(string), "app.json:5:24: echoserver.listen_port") {
		t.Errorf("invalid save: got %v, want the located problem", m)
	}
	c.Request("CMD", "save_config", []any{"app.json"})
	if m := c.ExpectKey("error", nil); !strings.Contains(m["error"].(string), "want 2 arguments") {
		t.Errorf("save without text: got %v", m)
	}
	if got := read(t, r.root, config.AppFile); !strings.Contains(got, `"nosuchapp"`) {
		t.Fatalf("app.json changed by refused saves:\n%s", got)
	}
	c.Request("CMD", "save_config", []any{"app.json", seedApp("echoserver")})
	if m := c.ExpectKey("info", nil); !strings.Contains(m["info"].(string), "saved app.json") {
		t.Errorf("valid save: got %v", m)
	}
	if got := read(t, r.root, config.AppFile); !strings.Contains(got, `"app": "echoserver"`) {
		t.Fatalf("app.json not saved:\n%s", got)
	}
	c.Request("CMD", "restart", []any{})
	if m := c.ExpectKey("info", nil); !strings.Contains(m["info"].(string), "restarting") {
		t.Errorf("restart: got %v, want info", m)
	}
	r.awaitRestarts(t, 1)
}

func TestCrossOriginWebSocketRefused(t *testing.T) {
	r := start(t, errors.New("why"))
	_, res, err := tethertest.TryDialWS(t, r.wsURL(), tethertest.WSOptions{Header: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: got %v (%v), want 403", res, err)
	}
	c := dial(t, r.wsURL(), http.Header{"Origin": {r.url}}) // its own page may
	c.ExpectKey("recovery", nil)
}

func TestShutdownClosesClientsWith1001(t *testing.T) {
	r := start(t, errors.New("why"))
	c := dial(t, r.wsURL(), nil)
	c.ExpectKey("recovery", nil)
	closed := make(chan error, 1)
	go func() { // read on, so the client answers the close handshake
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			if _, _, err := c.Conn.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()
	r.stop(t)
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("close on shutdown: got %v (%v), want 1001", websocket.CloseStatus(err), err)
	}
}

// TestCallHome repairs the device through a hub: recovery calls home and
// serves the command protocol on that connection.
func TestCallHome(t *testing.T) {
	conns := make(chan *websocket.Conn, 1)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Device_1" {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conns <- c
		<-r.Context().Done()
	}))
	defer hub.Close()
	port, _ := strconv.Atoi(hub.URL[strings.LastIndex(hub.URL, ":")+1:])
	r := startWith(t, errors.New(`unknown app "nosuchapp"`), func(cfg *config.Config) {
		cfg.App.Demo.Home = config.Home{IP: "127.0.0.1", Port: port}
	})
	var ws *websocket.Conn
	select {
	case ws = <-conns:
	case <-time.After(10 * time.Second):
		t.Fatal("recovery did not call home within 10 s")
	}
	c := tethertest.NewWS(t, ws)
	c.ExpectKey("recovery", nil)
	c.Request("GET", "status", []any{})
	if m := c.ExpectKey("recovery/reason", nil); !strings.Contains(m["recovery/reason"].(string), "nosuchapp") {
		t.Errorf("GET status through home: got %v", m)
	}
	c.Request("CMD", "save_config", []any{"app.json", seedApp("echoserver")})
	c.ExpectKey("recovery/saved", nil)
	c.Request("CMD", "restart", []any{})
	c.ExpectKey("info", nil)
	r.awaitRestarts(t, 1)
	if got := read(t, r.root, config.AppFile); !strings.Contains(got, `"app": "echoserver"`) {
		t.Errorf("after repair through home: app.json\n%s", got)
	}
}
