package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	var got map[string]int
	if found, err := ReadJSON(path, &got); found || err != nil || got != nil {
		t.Fatalf("missing file: found %v, %v, %v; want false, nil and v untouched", found, err, got)
	}
	if err := WriteJSON(path, map[string]int{"a": 1}, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\n  \"a\": 1\n}\n" {
		t.Errorf("file holds %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if found, err := ReadJSON(path, &got); !found || err != nil || got["a"] != 1 {
		t.Fatalf("read back: %v, %v, %v", found, err, got)
	}
	os.WriteFile(path, []byte("{broken"), 0o600)
	if _, err := ReadJSON(path, &got); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("broken file: %v, want an error naming it", err)
	}
}
