package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadNetwork: no input panics the loader, and every problem is located
// in network.json.
func FuzzLoadNetwork(f *testing.F) { fuzzFile(f, NetworkFile) }

// FuzzLoadApp: no input panics the loader, and every problem is located in
// app.json.
func FuzzLoadApp(f *testing.F) { fuzzFile(f, AppFile) }

func fuzzFile(f *testing.F, name string) {
	roots, _ := filepath.Glob("testdata/roots/*")
	for _, root := range roots {
		if data, err := os.ReadFile(filepath.Join(root, name)); err == nil {
			f.Add(data)
		}
	}
	f.Add(DefaultFile(name))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		problems := Validate(name, data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Validate modified its input")
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, p := range problems {
			if p.File != name || p.Msg == "" {
				t.Errorf("problem not about %s: %+v", name, p)
			}
			if len(data) <= maxFileSize && (p.Line < 1 || p.Line > lines || p.Col < 1) {
				t.Errorf("problem not located: %+v", p)
			}
		}
		cfg := rootDefaults("")
		again := decodeFile(name, data, cfg, Machine{})
		if len(again) != len(problems) {
			t.Errorf("decoding twice: %d problems, then %d", len(problems), len(again))
		}
	})
}
