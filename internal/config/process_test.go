package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A process entry takes the demo's keys with the demo's defaults, its
// own keys, and keeps the rest (the program's settings) in Raw.
func TestProcessEntry(t *testing.T) {
	root := t.TempDir()
	app := `{"app": "weather",
  "demo": {"http": {"ip": "127.0.0.1", "port": 80}},
  "weather": {"exec": ["python3", "apps/weather/main.py"], "env": {"UNITS": "metric"},
              "page": "apps/weather/www", "stop_grace": 2, "city": "Paris",
              "home": {"ip": "hub.example", "port": 7000}, "drivers": {"uart": {"kind": "serial", "port": "/dev/ttyS9"}}}}`
	if err := os.WriteFile(filepath.Join(root, AppFile), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, problems, err := Load(root)
	if err != nil {
		t.Fatalf("load: %v %v", err, problems)
	}
	p := cfg.App.Process()
	if p == nil {
		t.Fatal("no process app")
	}
	if !slices.Equal(p.Exec, []string{"python3", "apps/weather/main.py"}) || p.Env["UNITS"] != "metric" ||
		p.Page != "apps/weather/www" || p.StopGrace != 2*time.Second || p.Name != "weather" {
		t.Errorf("entry: got %+v", p)
	}
	// The demo's defaults, not the demo section's values.
	if p.HTTP != (Addr{"0.0.0.0", 8080}) || p.WebSocket != p.HTTP || p.Home.IP != "hub.example" || len(p.Drivers) != 1 {
		t.Errorf("served: got %+v", p.Served)
	}
	if !strings.Contains(string(p.Raw), `"city": "Paris"`) {
		t.Errorf("raw: got %s", p.Raw)
	}
	if sec, s := cfg.App.ServedBy(); sec != "weather" || s.Home.Port != 7000 {
		t.Errorf("ServedBy: got %q %+v", sec, s)
	}
	if got := p.Problem("exec[1]", "no such file", false).String(); got != "app.json:3:35: weather.exec[1]: no such file" {
		t.Errorf("problem: got %q", got)
	}
	if got := p.Problem("nothere", "x", true).String(); got != "app.json:3:14: weather.nothere: x" {
		t.Errorf("problem of an absent key: got %q", got)
	}
	cfg.App.Name = "demo"
	if cfg.App.Process() != nil {
		t.Error("demo is a process app")
	}
	if sec, s := cfg.App.ServedBy(); sec != "demo" || s.HTTP.Port != 80 {
		t.Errorf("ServedBy demo: got %q %+v", sec, s)
	}
}

// An app name with an "exec" section is known whatever the name, even
// "exec"; without one, "exec" is an unknown app like any other.
func TestProcessNameIsNoMagic(t *testing.T) {
	m := Machine{Apps: []string{"demo", "echoserver", "recovery"}}
	if p := m.Validate(AppFile, []byte(`{"app": "exec", "exec": {"exec": ["/bin/true"]}}`)); HasErrors(p) {
		t.Errorf("an app named exec with exec: %v", p)
	}
	p := m.Validate(AppFile, []byte(`{"app": "exec", "exec": {"command": ["/bin/true"]}}`))
	if !HasErrors(p) || !strings.Contains((&Error{p}).Error(), `unknown app "exec"`) {
		t.Errorf("an app named exec without exec: %v", p)
	}
}
