package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSalvage: recovery's settings come from the broken file where its
// sections read whole, else from the last good .bak, else the defaults.
func TestSalvage(t *testing.T) {
	const good = `{"app": "demo", "demo": {
  "http": {"ip": "127.0.0.1", "port": 9001},
  "home": {"ip": "10.1.1.1", "port": 7000, "token": "t1"}}}`
	const bak = `{"app": "demo", "demo": {
  "http": {"ip": "127.0.0.1", "port": 9002},
  "home": {"ip": "10.2.2.2", "port": 7002}}}`
	tests := []struct {
		name, app, bak string
		http           Addr
		home           string // ip:port
		from           map[string]string
	}{
		{"trailing comma at the end", good[:len(good)-1] + ",}", "",
			Addr{"127.0.0.1", 9001}, "10.1.1.1:7000", map[string]string{"demo.http": "app.json", "demo.home": "app.json", "demo.tls": "app.json"}},
		{"cut short in home, with a bak", good[:len(good)-20], bak,
			Addr{"127.0.0.1", 9001}, "10.2.2.2:7002", map[string]string{"demo.http": "app.json", "demo.home": "app.json.bak", "demo.tls": "app.json.bak"}},
		{"cut short in home, no bak", good[:len(good)-20], "",
			Addr{"127.0.0.1", 9001}, "127.0.0.1:7770", map[string]string{"demo.home": "defaults"}},
		{"broken before everything", `{"app": "demo",, "demo": {}}`, bak,
			Addr{"127.0.0.1", 9002}, "10.2.2.2:7002", map[string]string{"demo.http": "app.json.bak", "demo.home": "app.json.bak"}},
		{"bad value in home", `{"app": "demo", "demo": {"http": {"port": 9003}, "home": {"ip": "10.1.1.1", "port": "eighty"}}}`, bak,
			Addr{"0.0.0.0", 9003}, "10.2.2.2:7002", map[string]string{"demo.http": "app.json", "demo.home": "app.json.bak"}},
		{"home left out of a whole file", `{"app": "demo", "demo": {"http": {"port": "x"}}}`, bak,
			Addr{"127.0.0.1", 9002}, "127.0.0.1:7770", map[string]string{"demo.http": "app.json.bak", "demo.home": "app.json"}},
		{"a broken bak", `{"app": "demo", "demo": {"http": {"port": "x"}}`, `{"app": `,
			Addr{"0.0.0.0", 8080}, "127.0.0.1:7770", map[string]string{"demo.http": "defaults", "demo.home": "app.json"}}, // demo read whole: no home is meant
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := salvageRoot(t, tt.app, tt.bak, tt.from)
			h := cfg.App.Demo.Home
			if cfg.App.Demo.HTTP != tt.http || h.IP+":"+strconv.Itoa(h.Port) != tt.home {
				t.Errorf("http %+v home %s:%d, want %+v %s", cfg.App.Demo.HTTP, h.IP, h.Port, tt.http, tt.home)
			}
			if _, ok := cfg.Salvaged["device"]; ok {
				t.Errorf("network.json, which loads, was salvaged: %v", cfg.Salvaged)
			}
		})
	}
}

// TestSalvageProcess: when app.json names a process app, recovery's
// settings are that entry's http, home and tls (the demo's keys, which
// it takes), salvaged the same way: a typo in a process app's file must
// not send recovery to the built-in hub.
func TestSalvageProcess(t *testing.T) {
	const good = `{"app": "weather", "weather": {"exec": ["python3", "main.py"],
  "http": {"ip": "127.0.0.1", "port": 9101},
  "home": {"host": "hub.example.com", "port": 7001}}}`
	const bak = `{"app": "weather", "weather": {"exec": ["python3", "main.py"],
  "http": {"ip": "127.0.0.1", "port": 9102},
  "home": {"host": "old.example.com", "port": 7002}}}`
	tests := []struct {
		name, app, bak string
		http           Addr
		home           string // host:port
		from           map[string]string
	}{
		{"trailing comma at the end", good[:len(good)-1] + ",}", "",
			Addr{"127.0.0.1", 9101}, "hub.example.com:7001", map[string]string{"weather.http": "app.json", "weather.home": "app.json"}},
		{"cut short in home, with a bak", good[:len(good)-10], bak,
			Addr{"127.0.0.1", 9101}, "old.example.com:7002", map[string]string{"weather.http": "app.json", "weather.home": "app.json.bak"}},
		{"bad value in home, with a bak", `{"app": "weather", "weather": {"exec": ["python3", "main.py"], "http": {"port": 9103}, "home": {"host": "x.example.com", "port": "eighty"}}}`, bak,
			Addr{"0.0.0.0", 9103}, "old.example.com:7002", map[string]string{"weather.http": "app.json", "weather.home": "app.json.bak"}},
		{"broken before the app's name, with a bak", `{,"app": "weather", "weather": {}}`, bak,
			Addr{"127.0.0.1", 9102}, "old.example.com:7002", map[string]string{"weather.http": "app.json.bak", "weather.home": "app.json.bak"}},
		{"entry cut before exec, with a bak", `{"app": "weather", "weather": {`, bak,
			Addr{"127.0.0.1", 9102}, "old.example.com:7002", map[string]string{"weather.http": "app.json.bak", "weather.home": "app.json.bak"}},
		// a file switched from the process app to the demo keeps the demo's hub
		{"the file names the demo, its bak a process app", `{"app": "demo", "demo": {"http": {"port": 9104}, "home": {"host": "new.example.com", "port": 7004}},}`, bak,
			Addr{"0.0.0.0", 9104}, "new.example.com:7004", map[string]string{"demo.http": "app.json", "demo.home": "app.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := salvageRoot(t, tt.app, tt.bak, tt.from)
			_, s := cfg.App.ServedBy()
			if s.HTTP != tt.http || s.Home.Host+":"+strconv.Itoa(s.Home.Port) != tt.home {
				t.Errorf("http %+v home %s:%d, want %+v %s", s.HTTP, s.Home.Host, s.Home.Port, tt.http, tt.home)
			}
		})
	}
}

func TestSalvageNetwork(t *testing.T) {
	root := t.TempDir()
	writeTest(t, root, NetworkFile, `{"device": {"iam": "greenhouse-1"}, "ap": {"essid": "gh", "password": "12345678"},}`)
	cfg, problems, err := Load(root)
	if err == nil {
		t.Fatal("the root loads")
	}
	Salvage(root, cfg, problems)
	if cfg.Network.Device.IAm != "greenhouse-1" || cfg.Network.AP.ESSID != "gh" || cfg.Salvaged["device"] != NetworkFile {
		t.Errorf("got %+v from %v", cfg.Network, cfg.Salvaged)
	}
}

// salvageRoot loads a root of app.json app (and app.json.bak bak, unless
// ""), which must not load, salvages it, and checks where each section of
// from came from.
func salvageRoot(t *testing.T, app, bak string, from map[string]string) *Config {
	t.Helper()
	root := t.TempDir()
	writeTest(t, root, AppFile, app)
	if bak != "" {
		writeTest(t, root, AppFile+".bak", bak)
	}
	cfg, problems, err := Load(root)
	if err == nil {
		t.Fatal("the root loads")
	}
	Salvage(root, cfg, problems)
	for sec, want := range from {
		if got := cfg.Salvaged[sec]; got != want {
			t.Errorf("%s from %q, want %q (all: %v)", sec, got, want, cfg.Salvaged)
		}
	}
	return cfg
}

func writeTest(t *testing.T, root, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzSalvage: whatever a broken app.json and its .bak hold, Salvage never
// panics and says where each section recovery needs came from (auth
// included).
func FuzzSalvage(f *testing.F) {
	f.Add([]byte(`{"app": "demo", "demo": {"home": {"ip": "10.1.1.1", "port": 7000}},}`), []byte(`{"app": "demo"}`))
	f.Add([]byte(`{"app": "demo", "demo": {"http": {"port": "x"}, "home": {"ip": `), []byte(`{"app": `))
	f.Add([]byte(`[{"demo": {"home": {}}}`), []byte("\xff\xfe{"))
	f.Add([]byte(`{"demo": {"home": {"ip": "a", "ip": "b"}, "tls": {"enabled": tru`), []byte(`{"demo": {"tls": null}}`))
	f.Add([]byte(`{"app": "w", "w": {"exec": ["x"], "home": {"host": "h", "port": 1}},}`), []byte(`{"app": "w", "w": {"exec": 5}}`))
	f.Add([]byte(`{"app": "demo", "demo": {"exec": ["x"]}, "w": {"exec": [`), []byte(`{"app": "w", "w": {"exec": ["y"], "http": {}}}`))
	f.Fuzz(func(t *testing.T, app, bak []byte) {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, AppFile), app, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, AppFile+".bak"), bak, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, problems, err := Load(root)
		if err == nil {
			return
		}
		Salvage(root, cfg, problems)
		if len(cfg.Salvaged) != 4 || cfg.Salvaged["auth"] == "" {
			t.Fatalf("salvaged %v, want the served section's http, home and tls, and auth", cfg.Salvaged)
		}
		for sec, from := range cfg.Salvaged {
			name, part, _ := strings.Cut(sec, ".")
			if sec != "auth" && (name == "" || !slices.Contains([]string{"http", "home", "tls"}, part)) {
				t.Fatalf("salvaged %q (all: %v)", sec, cfg.Salvaged)
			}
			switch from {
			case AppFile, AppFile + ".bak", "defaults":
			default:
				t.Fatalf("%s from %q", sec, from)
			}
		}
	})
}

// TestSalvageAuth: a broken app.json keeps the auth setting it reads whole
// before its fault, else its last good version's ("strict" as well as
// "off"); with neither the device password is asked for (on).
func TestSalvageAuth(t *testing.T) {
	for _, tt := range []struct{ name, app, bak, want string }{
		{"off before the fault", `{"auth": "off", "app": "demo",, }`, "", AuthOff},
		{"off in the bak", `{"app": "demo",, "auth": "off"}`, `{"app": "demo", "auth": false}`, AuthOff},
		{"cut short, no bak", `{"app": "demo",, "auth": "off"}`, "", ""},
		{"a bad value", `{"app": "demo", "auth": "maybe"}`, "", ""},
		{"strict before the fault", `{"auth": "strict", "app": "demo",, }`, "", AuthStrict},
		{"strict in the bak", `{"app": "demo",, "auth": "strict"}`, `{"app": "demo", "auth": "strict"}`, AuthStrict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTest(t, root, AppFile, tt.app)
			if tt.bak != "" {
				writeTest(t, root, AppFile+".bak", tt.bak)
			}
			cfg, problems, err := Load(root)
			if err == nil {
				t.Fatal("the root loads")
			}
			Salvage(root, cfg, problems)
			if cfg.App.Auth != tt.want || cfg.App.AuthOff() != (tt.want == AuthOff) {
				t.Errorf("auth %q, want %q", cfg.App.Auth, tt.want)
			}
		})
	}
}

// TestAuthValues: app.json's "auth" takes "on", "strict", "off", true and
// false; anything else is an error at its position that names them.
func TestAuthValues(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{`"on"`, AuthOn}, {`true`, AuthOn}, {`"strict"`, AuthStrict}, {`"off"`, AuthOff}, {`false`, AuthOff},
	} {
		root := t.TempDir()
		writeTest(t, root, AppFile, `{"app": "demo", "auth": `+tt.value+`}`)
		cfg, _, err := Load(root)
		if err != nil || cfg.App.Auth != tt.want {
			t.Errorf(`"auth": %s: %q, %v; want %q`, tt.value, cfg.App.Auth, err, tt.want)
		}
	}
	root := t.TempDir()
	writeTest(t, root, AppFile, `{"app": "demo", "auth": "STRICT"}`)
	if _, _, err := Load(root); err == nil || !strings.Contains(err.Error(), `app.json:1:25: auth: want "on", "strict" or "off"`) {
		t.Errorf(`"auth": "STRICT": %v`, err)
	}
}
