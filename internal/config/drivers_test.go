package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDriversLoad reads drivers in file order with their settings, and
// locates later problems (config check's hardware look) at their keys.
func TestDriversLoad(t *testing.T) {
	root := t.TempDir()
	app := `{"app": "demo", "demo": {"drivers": {
    "uart": {"kind": "serial", "port": "/dev/ttyACM0", "baud": 115200, "line_ending": "crlf"},
    "fake_interface": {"kind": "fake"},
    "gps": {"kind": "serial", "port": "/dev/ttyUSB0", "read_only": true, "mode": "hex"}}}}`
	if err := os.WriteFile(filepath.Join(root, AppFile), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, problems, err := Load(root)
	if err != nil || len(problems) > 0 {
		t.Fatalf("Load: %v %v", err, problems)
	}
	ds := cfg.App.Demo.Drivers
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"uart", "fake_interface", "gps"}) {
		t.Fatalf("names in order = %v", names)
	}
	if u := ds[0]; u.Kind != "serial" || u.Port != "/dev/ttyACM0" || u.Baud != 115200 || u.LineEnding != "crlf" {
		t.Errorf("uart = %+v", u)
	}
	if g := ds[2]; !g.ReadOnly || g.Mode != "hex" || g.Baud != 0 {
		t.Errorf("gps = %+v", g)
	}
	if got := ds[0].Problem("port", "not present", true).String(); got != "app.json:2:40: demo.drivers.uart.port: not present" {
		t.Errorf("located problem = %q", got)
	}
	if got := ds[2].Problem("baud", "x", false).String(); got != "app.json:4:12: demo.drivers.gps.baud: x" {
		t.Errorf("problem at an absent key = %q", got)
	}

	// The JSON form round-trips in order (tether demo writes app.json).
	b, err := json.Marshal(cfg.App.Demo)
	if err != nil {
		t.Fatal(err)
	}
	var back Demo
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for i := range back.Drivers {
		ds[i].at = nil
	}
	if !reflect.DeepEqual(back.Drivers, ds) {
		t.Errorf("round trip:\n got %+v\nwant %+v\njson %s", back.Drivers, ds, b)
	}
	if (Driver{Name: "x"}).Problem("port", "m", false).String() != "app.json: x.port: m" {
		t.Errorf("unlocated problem = %q", (Driver{Name: "x"}).Problem("port", "m", false))
	}
}

// Salvaging a broken app.json (json.Unmarshal) never fails on drivers: a
// value of the wrong shape reads as none, and the keys around it still
// read.
func TestDriversUnmarshalLenient(t *testing.T) {
	for _, tt := range []struct {
		drivers string
		want    int
	}{
		{`"x"`, 0},
		{`[1, 2]`, 0},
		{`{"uart": {"kind": "serial", "baud": "fast", "port": "/dev/ttyACM0"}, "b": 5}`, 2},
	} {
		var a App
		err := json.Unmarshal([]byte(`{"app": "demo", "demo": {"drivers": `+tt.drivers+`, "home": {"ip": "10.0.0.2", "port": 7770}}}`), &a)
		if a.Demo.Home.IP != "10.0.0.2" || len(a.Demo.Drivers) != tt.want {
			t.Errorf("drivers %s: home %+v, %d drivers (%v)", tt.drivers, a.Demo.Home, len(a.Demo.Drivers), err)
		}
	}
}
