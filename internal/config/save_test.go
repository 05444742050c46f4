package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/roots/seed", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSave(t *testing.T) {
	seedApp := readSeed(t, AppFile)
	edited := []byte(strings.Replace(string(seedApp), `"port": 80`, `"port": 8080`, 1))
	broken := []byte(strings.Replace(string(seedApp), `"port": 80`, `"port": "eighty"`, 1))
	tests := []struct {
		name    string
		before  []byte // app.json on disk first; nil: none
		save    []byte
		wantErr string // "" means saved
		wantNow []byte // app.json afterwards
		wantBak []byte // app.json.bak afterwards; nil: none
	}{
		{"first save", nil, seedApp, "", seedApp, nil},
		{"edit keeps the previous", seedApp, edited, "", edited, seedApp},
		{"invalid edit refused", seedApp, broken, `app.json:10:21: demo.http.port: want a port number`, seedApp, nil},
		{"syntax error refused", seedApp, []byte("{\"app\": \"demo\",\n  \"demo\": {,}\n}\n"), "app.json:2:12: invalid character ','", seedApp, nil},
		{"broken file is not kept", broken, edited, "", edited, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, AppFile)
			if tt.before != nil {
				if err := os.WriteFile(path, tt.before, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Save(root, AppFile, tt.save)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Save: %v", err)
			}
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Save: got %v, want an *Error containing %q", err, tt.wantErr)
				}
			}
			assertContents(t, path, tt.wantNow)
			assertContents(t, path+".bak", tt.wantBak)
			if entries, _ := os.ReadDir(root); len(entries) > 2 {
				t.Errorf("stray files: %v", entries)
			}
		})
	}
}

func TestSaveMode(t *testing.T) {
	root := t.TempDir()
	if err := Save(root, AppFile, readSeed(t, AppFile)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, AppFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != FileMode {
		t.Errorf("mode: got %v, want %v", fi.Mode().Perm(), FileMode)
	}
}

func TestSaveErrors(t *testing.T) {
	tests := []struct{ name, root, file, want string }{
		{"no root", "", AppFile, "save app.json: no device root"},
		{"unknown file", t.TempDir(), "x.json", "x.json: unknown config file"},
		{"missing root", filepath.Join(t.TempDir(), "nope"), AppFile, "save app.json: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Save(tt.root, tt.file, []byte(`{"app": "demo"}`))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSaveNetwork: what SaveNetwork writes has the seed's layout and loads
// back as the same Network.
func TestSaveNetwork(t *testing.T) {
	root := t.TempDir()
	cfg, _, err := Load("testdata/roots/seed")
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Network
	n.STA = STA{SSID: "Home <5G>", Pass: "hunter2hunter2"}
	if err := SaveNetwork(root, n); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, NetworkFile))
	if err != nil {
		t.Fatal(err)
	}
	seed := string(readSeed(t, NetworkFile))
	for _, line := range []string{"{\n    \"device\": {\n        \"iam\": \"Device_1\",", "\n    \"ap\": {\n        \"essid\": \"\",\n        \"authmode\": 3,", `"ssid": "Home <5G>"`, "\n}\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("network.json lacks %q:\n%s\n(seed:\n%s)", line, data, seed)
		}
	}
	got, _, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Network, n) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got.Network, n)
	}
	n.Device.IAm = "no spaces allowed"
	if err := SaveNetwork(root, n); err == nil {
		t.Error("SaveNetwork saved an invalid device id")
	}
}

func assertContents(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if want == nil {
		if !os.IsNotExist(err) {
			t.Errorf("%s: got %q (%v), want no file", filepath.Base(path), got, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s:\n got %q\nwant %q", filepath.Base(path), got, want)
	}
}

// TestSaveClearsTemps: temporary files a crashed save left are removed by
// the next save.
func TestSaveClearsTemps(t *testing.T) {
	root := t.TempDir()
	stray := filepath.Join(root, ".app.json.tmp4242")
	if err := os.WriteFile(stray, []byte("{\"app\": "), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Save(root, AppFile, readSeed(t, AppFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray temporary file still there: %v", err)
	}
}
