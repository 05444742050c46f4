package process_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/apps/process"
	"tether/internal/tethertest"
)

// TestMain lets the test binary be the guard, as tether's binary is: the
// App's default guard is this very binary's "process-guard".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == process.GuardCommand {
		os.Exit(process.GuardMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// writeRoot makes a device root with app.json naming the process app
// "t" of entry (a JSON object), and the files given (path → text; a path
// ending in ".sh" is made executable).
func writeRoot(t *testing.T, entry string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	tethertest.WriteFile(t, filepath.Join(root, "network.json"), tethertest.SeedNetwork)
	tethertest.WriteFile(t, filepath.Join(root, "app.json"), `{"app": "t", "t": `+entry+`}`)
	tethertest.SetDevicePassword(t, root)
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// exampleRoot copies examples/apps/name to a temporary device root (the
// helper's symlink as a file) and points its entry at the test: the page
// on a free port, home at homePort (0: not calling home), Debian's
// python3 instead of the one on PATH.
func exampleRoot(t *testing.T, name string, homePort int) string {
	t.Helper()
	src := filepath.Join(tethertest.ProjectRoot(t), "examples", "apps", name)
	root := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		fi, err := os.Stat(p) // follows the helper's symlink
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	b, _ := os.ReadFile(filepath.Join(root, "app.json"))
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatal(err)
	}
	entry := app[app["app"].(string)].(map[string]any)
	entry["http"] = map[string]any{"ip": "127.0.0.1", "port": 0}
	entry["home"] = map[string]any{"ip": "127.0.0.1", "port": homePort}
	if homePort == 0 {
		entry["home"] = map[string]any{"disabled": true}
	}
	if argv := entry["exec"].([]any); argv[0] == "python3" {
		argv[0] = tethertest.Python
	}
	b, _ = json.MarshalIndent(app, "", "    ")
	tethertest.WriteFile(t, filepath.Join(root, "app.json"), string(b))
	tethertest.WriteFile(t, filepath.Join(root, "network.json"), tethertest.SeedNetwork)
	tethertest.SetDevicePassword(t, root)
	return root
}

// buildGo builds the Go package pkg (relative to the project root) into
// path.
func buildGo(t *testing.T, pkg, path string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", path, "./"+pkg)
	cmd.Dir = tethertest.ProjectRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
}

// recoveryRE finds recovery's page address in the device's log.
var recoveryRE = regexp.MustCompile(`recovery page up.* url=http://([^/ ]+)/`)

// servingRE finds the address an app's page serves on in the device's log.
var servingRE = regexp.MustCompile(`msg="?\S+ serving"? .*page=https?://([^/ ]+)/`)

// device starts tether device on root and returns it with its page's
// address, once it serves.
func device(t *testing.T, root string, args ...string) (*tethertest.Proc, string) {
	t.Helper()
	p := tethertest.Start(t, append([]string{"device", "--root", root, "--net", "sim"}, args...)...)
	return p, waitMatch(t, p, servingRE, 60*time.Second)
}

// waitMatch waits for re in p's output and returns its first group; it
// gives up early when the process ends or, unless re is recoveryRE, the
// device enters recovery.
func waitMatch(t *testing.T, p *tethertest.Proc, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m[1]
		}
		if p.Exited() || re != recoveryRE && strings.Contains(p.Output(), "entering recovery") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("output lacks %s after %v:\n%s", re, d, p.Output())
	return ""
}

// hub starts tether hub on free ports and returns the device port and the
// page endpoint's address.
func hub(t *testing.T) (devicePort string, pageAddr string) {
	t.Helper()
	h := tethertest.Start(t, "hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0")
	m := waitMatch(t, h, regexp.MustCompile(`hub listening.* devices=ws://(127\.0\.0\.1:\d+/<id> pages=ws://127\.0\.0\.1:\d+)/`), 30*time.Second)
	dev, page, _ := strings.Cut(m, "/<id> pages=ws://")
	return strings.TrimPrefix(dev, "127.0.0.1:"), page
}

// procsOf lists the processes whose environment says they belong to the
// device root root (TETHER_ROOT, inherited by a program's children).
func procsOf(root string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "TETHER_ROOT="+root {
				cmd, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
				out = append(out, d.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
			}
		}
	}
	return out
}

// waitNoProcs waits up to d for every process of root to be gone.
func waitNoProcs(t *testing.T, root string, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for {
		left := procsOf(root)
		if len(left) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("processes left behind after %v: %q", d, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
