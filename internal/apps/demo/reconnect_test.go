package demo_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// The page in Chromium notices the device going away, says so in its status
// line (no alert box), and reconnects by itself when the device is back.
func TestPageReconnects(t *testing.T) {
	t.Parallel()
	h := tethertest.FreePort(t)
	w := tethertest.FreePort(t)
	r := start(t, seedApp(h, w, 0, ""))
	lines, wait := node(t, "device-reconnect.mjs", r.httpURL()+"/", filepath.Join(t.TempDir(), "reconnect.png"))
	expect(t, lines, "connected")
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	expect(t, lines, "saw the loss")
	startRoot(t, r.root) // same ports
	expect(t, lines, "reconnect ok")
	if err := wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
}

// node runs an e2e/ script as tethertest.Browser does, but in the
// background: it returns its output lines and a function waiting for it.
func node(t *testing.T, script string, args ...string) (<-chan string, func() error) {
	t.Helper()
	tethertest.Need(t, "node")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		tethertest.Missing(t, "needs Debian chromium at %s (make deps installs it)", chromium)
	}
	dir := filepath.Join(tethertest.ProjectRoot(t), "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		tethertest.Missing(t, "needs playwright-core in e2e/node_modules (make deps runs npm ci)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var waitErr error
	waited := false
	wait := func() error {
		if !waited {
			waited = true
			<-done
			waitErr = cmd.Wait()
			cancel()
		}
		return waitErr
	}
	t.Cleanup(func() { cancel(); wait() })
	return lines, wait
}

// expect waits for a line, failing on a FAIL line or the end of output.
func expect(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	for line := range lines {
		if line == want {
			return
		}
		if strings.HasPrefix(line, "FAIL") {
			t.Fatalf("browser: %s", line)
		}
	}
	t.Fatalf("browser ended before saying %q", want)
}
