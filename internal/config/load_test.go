package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/roots/*/want.txt from the current output")

// TestLoadRoots loads every root in testdata/roots and compares all the
// problems found, warnings included, with its want.txt.
func TestLoadRoots(t *testing.T) {
	roots, err := filepath.Glob("testdata/roots/*")
	if err != nil || len(roots) == 0 {
		t.Fatalf("no test roots: %v", err)
	}
	for _, root := range roots {
		t.Run(filepath.Base(root), func(t *testing.T) {
			cfg, problems, err := Load(root)
			if cfg == nil {
				t.Fatal("Load returned a nil Config")
			}
			if got, want := err != nil, HasErrors(problems); got != want {
				t.Errorf("err = %v with problems %v", err, problems)
			}
			got := render(problems)
			wantFile := filepath.Join(root, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("problems:\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// render writes problems one per line, as config check marks them.
func render(problems []Problem) string {
	var b strings.Builder
	for _, p := range problems {
		if p.Warning {
			b.WriteString("warning: ")
		} else {
			b.WriteString("error: ")
		}
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestLoadSeed checks the values the seed's files load as, placeholders
// unset.
func TestLoadSeed(t *testing.T) {
	cfg, _, err := Load("testdata/roots/seed")
	if err != nil {
		t.Fatal(err)
	}
	want := Network{
		Device:   Device{IAm: "Device_1", Dev: "ESP32"},
		AP:       AP{AuthMode: 3},
		WSServer: WSServer{Host: "server.tld", Port: 7777, Path: "TS001"},
	}
	if !reflect.DeepEqual(cfg.Network, want) {
		t.Errorf("network:\n got %+v\nwant %+v", cfg.Network, want)
	}
	a := cfg.App
	if a.Name != "demo" || a.Demo.HTTP != (Addr{"", 80}) || a.Demo.WebSocket != (Addr{"", 7777}) ||
		a.Demo.Home.Port != 7770 || a.EchoServer != (EchoServer{ListenPort: 7777}) {
		t.Errorf("app: got %+v", a)
	}
	if len(a.Sections) != 2 || !strings.Contains(string(a.Sections["demo"]), `"port": 80`) {
		t.Errorf("sections: got %q", a.Sections)
	}
	if len(cfg.Missing) != 0 || cfg.Root != "testdata/roots/seed" {
		t.Errorf("missing %v, root %q", cfg.Missing, cfg.Root)
	}
}

func TestLoadFull(t *testing.T) {
	cfg, _, err := Load("testdata/roots/full")
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.App.Demo
	if d.Home.Token != "s3cret" || !d.Home.TLS || d.Home.Host != "hub.example.com" || d.TLS != nil ||
		d.Routes["/app.js"] != "www/app.js" || len(d.Origins) != 2 || d.MaxMessage != 65536 {
		t.Errorf("demo: got %+v", d)
	}
	es := cfg.App.EchoServer
	if es.TLS == nil || !es.TLS.Enabled || es.TLS.Key != "certs/echo.key" || es.ListenAddr != "::1" {
		t.Errorf("echoserver: got %+v", es)
	}
	if got := string(cfg.App.Sections["weather"]); !strings.HasPrefix(got, `{"station": "EGLL"`) {
		t.Errorf("weather section: got %q", got)
	}
	if cfg.Network.Net != "host" {
		t.Errorf("net: got %q, want host", cfg.Network.Net)
	}
	// network.json leaves ap out: no shared default name or password.
	if cfg.Network.AP.ESSID != "" || cfg.Network.AP.Password != "" {
		t.Errorf("ap: got %+v, want it left to the device", cfg.Network.AP)
	}
}

func TestLoadMissingFiles(t *testing.T) {
	root := t.TempDir()
	cfg, problems, err := Load(root)
	if err != nil || len(problems) != 0 {
		t.Fatalf("got %v %v, want no problems", problems, err)
	}
	if !reflect.DeepEqual(cfg.Missing, []string{NetworkFile, AppFile}) {
		t.Errorf("missing: got %v", cfg.Missing)
	}
	def := Default()
	if !reflect.DeepEqual(cfg.App, def.App) {
		t.Errorf("app: got %+v, want the defaults %+v", cfg.App, def.App)
	}
	if cfg.Network.Net != "" || cfg.Network.AP.Password != "" || !reflect.DeepEqual(cfg.Network.Device, def.Network.Device) {
		t.Errorf("network: got %+v", cfg.Network)
	}
}

func TestLoadBadRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable")
	if err := os.MkdirAll(filepath.Join(unreadable, AppFile), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ root, want string }{
		{filepath.Join(dir, "nope"), "nope: no such folder"},
		{file, "file: is a file, not a folder: want the device root, the folder holding network.json and app.json"},
		{unreadable, "app.json: read: is a directory"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.root), func(t *testing.T) {
			cfg, _, err := Load(tt.root)
			var e *Error
			if !errors.As(err, &e) || !strings.HasSuffix(err.Error(), tt.want) {
				t.Fatalf("got %v, want an *Error ending %q", err, tt.want)
			}
			if cfg == nil || cfg.App.Name != "demo" {
				t.Errorf("got config %+v, want the defaults", cfg)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	cfg, problems, err := Load("")
	if err != nil || problems != nil {
		t.Fatalf("Load(\"\"): %v %v", problems, err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(\"\") = %+v, want Default()", cfg)
	}
	n, a := cfg.Network, cfg.App
	checks := []struct {
		name string
		ok   bool
	}{
		{"app demo", a.Name == "demo"},
		{"demo.http 0.0.0.0:8080", a.Demo.HTTP == Addr{"0.0.0.0", 8080}},
		{"demo.websocket same as http", a.Demo.WebSocket == a.Demo.HTTP},
		{"home 127.0.0.1:7770", a.Demo.Home.IP == "127.0.0.1" && a.Demo.Home.Port == 7770},
		{"echoserver 0.0.0.0:7777", a.EchoServer.ListenAddr == "0.0.0.0" && a.EchoServer.ListenPort == 7777},
		{"iam Device_1", n.Device.IAm == "Device_1"},
		{"dev linux", n.Device.Dev == "linux"},
		{"net sim", n.Net == "sim"},
		{"ap tether-Device_1", n.AP.ESSID == "tether-Device_1"},
		{"ap password", isWPAKey(n.AP.Password)},
		{"sections", a.Sections["demo"] != nil && a.Sections["echoserver"] != nil},
		{"root", cfg.Root == ""},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got %+v", c.name, cfg)
		}
	}
	Default().App.Sections["demo"] = nil
	if Default().App.Sections["demo"] == nil {
		t.Error("Default shares state between calls")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, file, data, want string // want: rendered problems
	}{
		{"good app", AppFile, `{"app": "echoserver", "echoserver": {}}`, ""},
		{"bad port", AppFile, `{"app": "demo", "demo": {"home": {"port": 0}}}`,
			"error: app.json:1:43: demo.home.port: want a port number 1-65535, got 0\n"},
		{"unknown file", "other.json", `{}`,
			"error: other.json: unknown config file, want network.json or app.json\n"},
		{"big file", NetworkFile, `{"device": {"dev": "` + strings.Repeat("x", maxFileSize) + `"}}`,
			"error: network.json: file too large: 1048599 bytes, want at most 1048576\n"},
		{"labels", NetworkFile, `{"device": {"iam": "d1", "labels": ["kitchen", "site=berlin"]}}`, ""},
		{"bad label", NetworkFile, `{"device": {"iam": "d1", "labels": ["kitchen", "floor 2"]}}`,
			"error: network.json:1:48: device.labels[1]: want a label: 1-64 ASCII letters, digits, '.', '_', '-', '=' or ':', got \"floor 2\"\n"},
		{"labels not a list", NetworkFile, `{"device": {"labels": "kitchen"}}`,
			"error: network.json:1:23: device.labels: want an array of at most 64 of a label: 1-64 ASCII letters, digits, '.', '_', '-', '=' or ':', got \"kitchen\"\n"},
		{"deep nesting", AppFile, `{"app": "x", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
			"error: app.json:1:10018: invalid character '[' exceeded max depth\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(Validate(tt.file, []byte(tt.data))); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestStrict(t *testing.T) {
	root := "testdata/roots/unknown-keys"
	if HasErrors(Check(root)) {
		t.Fatalf("unknown keys are errors without strict: %v", Check(root))
	}
	strict := CheckStrict(root)
	for _, p := range strict {
		if p.Unknown == p.Warning {
			t.Errorf("strict: %v: unknown=%v warning=%v", p, p.Unknown, p.Warning)
		}
	}
	seed := CheckStrict("testdata/roots/seed")
	if HasErrors(seed) {
		t.Errorf("strict check of the seed: got errors %v, want placeholder warnings only", seed)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Problems: []Problem{
		{File: "network.json", Line: 7, Col: 18, Path: "ap.essid", Msg: "placeholder", Warning: true},
		{File: "app.json", Line: 7, Col: 14, Path: "demo.http.port", Msg: `want a port number 1-65535, got "eighty"`},
		{File: "app.json", Line: 2, Msg: "no column"},
		{File: "/root", Msg: "no such folder"},
	}}
	want := `app.json:7:14: demo.http.port: want a port number 1-65535, got "eighty"
app.json:2: no column
/root: no such folder
warning: network.json:7:18: ap.essid: placeholder`
	if got := e.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestWebSocketFollowsHTTP: without a websocket key the command API shares
// the page's address rather than opening a default one.
func TestWebSocketFollowsHTTP(t *testing.T) {
	tests := []struct {
		name, app string
		want      Addr
	}{
		{"no websocket", `{"app": "demo", "demo": {"http": {"ip": "127.0.0.1", "port": 9000}}}`, Addr{"127.0.0.1", 9000}},
		{"websocket given", `{"app": "demo", "demo": {"http": {"port": 9000}, "websocket": {"port": 9001}}}`, Addr{"0.0.0.0", 9001}},
		{"no demo", `{"app": "echoserver"}`, Addr{"0.0.0.0", 8080}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, AppFile), []byte(tt.app), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := Load(root)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.App.Demo.WebSocket != tt.want {
				t.Errorf("websocket: got %+v, want %+v", cfg.App.Demo.WebSocket, tt.want)
			}
		})
	}
}
