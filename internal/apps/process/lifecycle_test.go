package process_test

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// page is app.json's served keys for a test: the page on a free port, no
// calling home.
const page = `"http": {"ip": "127.0.0.1", "port": 0}, "home": {"disabled": true}`

// A program that keeps failing lands the device in recovery after the
// restart budget, and the recovery page says how it ended (its exit
// status) with the last lines of its standard error.
func TestCrashLoopEndsInRecovery(t *testing.T) {
	t.Parallel()
	root := writeRoot(t, `{"exec": ["`+tethertest.Python+`", "app/crash.py"], `+page+`}`, map[string]string{
		"app/crash.py": `import sys
print("reading the sensor", file=sys.stderr)
print("Traceback (most recent call last):\n  File \"crash.py\", line 3\nOSError: [Errno 5] sensor <b>gone</b>", file=sys.stderr)
sys.exit(3)
`,
	})
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	addr := waitMatch(t, dev, recoveryRE, 60*time.Second)
	for _, path := range []string{"/api/status", "/"} {
		res, err := tethertest.DeviceClient.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(b)
		for _, want := range []string{`failed 3 times within`, `program ` + tethertest.Python + ` exited with status 3`,
			`the last lines of its standard error`, `reading the sensor`, `OSError: [Errno 5] sensor`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", path, want, body)
			}
		}
		if path == "/" && strings.Contains(body, "<b>gone</b>") {
			t.Errorf("the recovery page shows the program's stderr as HTML:\n%s", body)
		}
	}
	// Its standard error is the device's log, so also in the tail file.
	if b, err := os.ReadFile(filepath.Join(root, "tether.log")); err != nil || !strings.Contains(string(b), "component=stderr") ||
		!strings.Contains(string(b), "OSError: [Errno 5] sensor") {
		t.Errorf("tether.log lacks the program's standard error (%v):\n%s", err, b)
	}
	if n := strings.Count(dev.Output(), "program started"); n != 3 {
		t.Errorf("program started %d times, want 3 (the restart budget)", n)
	}
	waitNoProcs(t, root, 5*time.Second)
}

// ignoreTERM is a program that ignores SIGTERM, as does the child it
// starts, and never reads its input: only SIGKILL ends them.
const ignoreTERM = `#!/bin/sh
trap '' TERM
sleep 1000 &
printf '{"type":"announce","items":[],"keys":[]}\n'
echo "ignoring SIGTERM" >&2
while :; do sleep 1; done
`

// A program that ignores SIGTERM is killed after its stop_grace when the
// device stops, with the child it started, and tether still stops within
// its bound.
func TestStopKillsWholeGroupAfterGrace(t *testing.T) {
	t.Parallel()
	root := writeRoot(t, `{"exec": ["app/stubborn.sh"], "stop_grace": 1, `+page+`}`, map[string]string{"app/stubborn.sh": ignoreTERM})
	dev, _ := device(t, root)
	dev.WaitOutput("ignoring SIGTERM", 10*time.Second)
	if n := len(procsOf(root)); n < 4 { // guard, sh, sleep 1000, sleep 1
		t.Fatalf("want the guard, the program and its children, got %q", procsOf(root))
	}
	start := time.Now()
	dev.Signal(syscall.SIGTERM)
	if code := dev.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopped after %v, want within tether's 5 s", d)
	}
	waitNoProcs(t, root, 2*time.Second)
	if !strings.Contains(dev.Output(), "program stopped") || !strings.Contains(dev.Output(), "was killed by SIGKILL") {
		t.Errorf("the log does not say the program was killed:\n%s", dev.Output())
	}
}

// When tether itself is killed with SIGKILL (no chance to stop anything),
// the program and everything it started go too.
func TestSIGKILLedTetherLeavesNothing(t *testing.T) {
	t.Parallel()
	root := writeRoot(t, `{"exec": ["app/stubborn.sh"], `+page+`}`, map[string]string{"app/stubborn.sh": ignoreTERM})
	dev, _ := device(t, root)
	dev.WaitOutput("ignoring SIGTERM", 10*time.Second)
	if n := len(procsOf(root)); n < 4 {
		t.Fatalf("want the guard, the program and its children, got %q", procsOf(root))
	}
	dev.Signal(syscall.SIGKILL)
	dev.Wait(5 * time.Second)
	waitNoProcs(t, root, 5*time.Second)
}

// A process app's app.json with a syntax error (a trailing comma) sends
// the device to recovery with the entry's own settings, salvaged from the
// broken file: recovery listens where the entry says and calls home to
// the entry's hub, not to the built-in defaults, so the device can be
// repaired through the hub it was configured for.
func TestTypoRecoveryKeepsTheEntrysHub(t *testing.T) {
	t.Parallel()
	h := tethertest.Start(t, "hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0")
	devAddr, _ := h.HubAddrs(30 * time.Second)
	_, port, _ := strings.Cut(devAddr, ":")
	httpPort := strconv.Itoa(tethertest.FreePort(t))
	root := writeRoot(t, `{"exec": ["app/run.sh"], "http": {"ip": "127.0.0.1", "port": `+httpPort+`}, "home": {"ip": "127.0.0.1", "port": `+port+`}},`,
		map[string]string{"app/run.sh": ignoreTERM})
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	addr := waitMatch(t, dev, recoveryRE, 60*time.Second)
	if addr != "127.0.0.1:"+httpPort {
		t.Errorf("recovery listens on %s, want the entry's 127.0.0.1:%s", addr, httpPort)
	}
	h.WaitOutput("device connected", 30*time.Second)
	dev.WaitOutput("home_from=app.json", 5*time.Second)
}
