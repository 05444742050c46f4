package config

import (
	"os"
	"path/filepath"
	"strconv"
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
			h := cfg.App.Demo.Home
			if cfg.App.Demo.HTTP != tt.http || h.IP+":"+strconv.Itoa(h.Port) != tt.home {
				t.Errorf("http %+v home %s:%d, want %+v %s", cfg.App.Demo.HTTP, h.IP, h.Port, tt.http, tt.home)
			}
			for sec, want := range tt.from {
				if got := cfg.Salvaged[sec]; got != want {
					t.Errorf("%s from %q, want %q (all: %v)", sec, got, want, cfg.Salvaged)
				}
			}
			if _, ok := cfg.Salvaged["device"]; ok {
				t.Errorf("network.json, which loads, was salvaged: %v", cfg.Salvaged)
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

func writeTest(t *testing.T, root, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzSalvage: whatever a broken app.json and its .bak hold, Salvage never
// panics and says where each section recovery needs came from.
func FuzzSalvage(f *testing.F) {
	f.Add([]byte(`{"app": "demo", "demo": {"home": {"ip": "10.1.1.1", "port": 7000}},}`), []byte(`{"app": "demo"}`))
	f.Add([]byte(`{"app": "demo", "demo": {"http": {"port": "x"}, "home": {"ip": `), []byte(`{"app": `))
	f.Add([]byte(`[{"demo": {"home": {}}}`), []byte("\xff\xfe{"))
	f.Add([]byte(`{"demo": {"home": {"ip": "a", "ip": "b"}, "tls": {"enabled": tru`), []byte(`{"demo": {"tls": null}}`))
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
		for _, sec := range []string{"demo.http", "demo.home", "demo.tls"} {
			switch cfg.Salvaged[sec] {
			case AppFile, AppFile + ".bak", "defaults":
			default:
				t.Fatalf("%s from %q", sec, cfg.Salvaged[sec])
			}
		}
	})
}
