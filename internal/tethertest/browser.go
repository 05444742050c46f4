package tethertest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Browser runs an e2e/ script with node against url under a timeout and
// returns its output; it skips (fails under CI) when node, Chromium or
// playwright-core are missing, and fails the test on a non-zero exit.
func Browser(t testing.TB, script string, args ...string) string {
	t.Helper()
	dir := e2eDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	cmd.Env = browserEnv()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// browserEnv is a browser script's environment: the test's, and the device
// password it logs in to devices with (e2e/browser.mjs gotoDevice).
func browserEnv() []string {
	return append(os.Environ(), "TETHER_DEVICE_PASSWORD="+DevicePassword)
}

// e2eDir returns the e2e/ folder, skipping the test (failing it under CI)
// when node, Chromium or playwright-core are missing.
func e2eDir(t testing.TB) string {
	t.Helper()
	Need(t, "node")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		Missing(t, "needs Debian chromium at %s (make deps installs it)", chromium)
	}
	dir := filepath.Join(ProjectRoot(t), "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		Missing(t, "needs playwright-core in e2e/node_modules (make deps runs npm ci)")
	}
	return dir
}

// BrowserLines runs an e2e/ script as Browser does, but in the
// background, for scripts that take turns with the test: it returns the
// script's output lines as they come and a function that waits for it to
// end.
func BrowserLines(t testing.TB, script string, args ...string) (<-chan string, func() error) {
	t.Helper()
	dir := e2eDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	cmd.Env = browserEnv()
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

// Expect waits for the line want from a BrowserLines script, failing the
// test on a line starting with FAIL or the end of the output.
func Expect(t testing.TB, lines <-chan string, want string) {
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
