package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name     string
		versions []string // written in order
		wantBak  string   // "" means no .bak
	}{
		{"first write", []string{"one"}, ""},
		{"second keeps first", []string{"one", "two"}, "one"},
		{"third keeps second", []string{"one", "two", "three"}, "two"},
		{"empty contents", []string{"one", ""}, "one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.json")
			for _, v := range tt.versions {
				if err := WriteFile(path, []byte(v), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			assertFile(t, path, tt.versions[len(tt.versions)-1])
			if tt.wantBak == "" {
				if _, err := os.Stat(path + BackupSuffix); !os.IsNotExist(err) {
					t.Errorf("got a .bak (%v), want none", err)
				}
			} else {
				assertFile(t, path+BackupSuffix, tt.wantBak)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o640 {
				t.Errorf("got mode %v, want 0640", got)
			}
			assertNoTemps(t, dir)
		})
	}
}

func TestReplaceKeepsBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "network.json")
	for _, v := range []string{"good", "better"} {
		if err := WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Replace(path, []byte("fixed"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "fixed")
	assertFile(t, path+BackupSuffix, "good")
	assertNoTemps(t, dir)
}

func TestBackupMissingIsNoop(t *testing.T) {
	dir := t.TempDir()
	if err := Backup(filepath.Join(dir, "absent")); err != nil {
		t.Fatalf("got %v, want nil for a missing file", err)
	}
	assertNoTemps(t, dir)
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"missing folder", filepath.Join(dir, "nope", "app.json")},
		{"target is a folder", dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, []byte("x"), 0o600)
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
			assertNoTemps(t, dir)
		})
	}
}

func TestReplaceWith(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.tar.gz")
	if err := Replace(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("payload unreadable")
	err := ReplaceWith(path, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half a new")
		return boom
	})
	if err != boom {
		t.Errorf("got %v, want fill's error as it is", err)
	}
	assertFile(t, path, "old")
	assertNoTemps(t, dir)
	if err := ReplaceWith(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "new")
	assertNoTemps(t, dir)
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s: got %q, want %q", filepath.Base(path), got, want)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, ".*.tmp*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) > 0 {
		t.Errorf("stray temporary files: %v", matches)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app[1].json")
	keep := []string{"app[1].json", "app[1].json.bak", ".other.json.tmp1", "app1.json"}
	stray := []string{".app[1].json.tmp123", ".app[1].json.bak.tmp9"}
	for _, name := range append(keep, stray...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{".other.json.tmp1", "app1.json", "app[1].json", "app[1].json.bak"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("left %v, want %v", got, want)
	}
}

func TestSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "current")
	for _, target := range []string{"v1", "v2"} {
		if err := Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Fatalf("Readlink = %q, %v; want %q", got, err, target)
		}
	}
	assertNoTemps(t, dir)
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)
	if err := Symlink("v3", filepath.Join(dir, "folder")); err == nil {
		t.Fatal("Symlink over a folder: want an error")
	}
	assertNoTemps(t, dir)
}
