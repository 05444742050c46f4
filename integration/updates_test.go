package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// weatherApp is a Python process app whose behaviour is its mode: "ok"
// answers GET health; "crash" exits at start with a line on standard
// error; "noprobe" never answers GET health; "bigstate" publishes a state
// bigger than the test hub's --max-message, so the hub closes the
// device's link each time it connects.
const weatherApp = `import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tetherapp

VERSION, MODE = %q, %q
if MODE == "crash":
    print("weather %%s: cannot read the sensor" %% VERSION, file=sys.stderr)
    sys.exit(3)
app = tetherapp.App()
app.key("weather/version", "the version running")

@app.get("health", doc="the health probe")
def health(req):
    return None if MODE == "noprobe" else {"health": "ok"}

app.state({"weather/version": VERSION})
if MODE == "bigstate":
    app.state({"weather/blob": "x" * 20000})
app.run()
`

// updRig is a real hub keeping updates and a real device running the
// weather app, with the signing keys made by tether keys init.
type updRig struct {
	t        *testing.T
	keys     string // folder of update.key and update.pub
	hub      *tethertest.Proc
	page     string // the hub's page port, host:port
	devPort  int
	root     string
	dev      *tethertest.Proc
	window   string
	versions int
	hubArgs  []string // how the hub was started, its ports fixed: to start it again
}

func newUpdRig(t *testing.T, window string) *updRig {
	t.Helper()
	tethertest.Need(t, "python3")
	r := &updRig{t: t, keys: t.TempDir(), window: window}
	r.run("keys", "init", "--dir", r.keys)
	updates := t.TempDir()
	r.hub = tethertest.Start(t, "hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0",
		"--update-dir", updates, "--max-message", "16384")
	dev, page := r.hub.HubAddrs(15 * time.Second)
	r.page = page
	r.hubArgs = []string{"hub", "--device-addr", dev, "--page-addr", page, "--update-dir", updates, "--max-message", "16384"}
	fmt.Sscanf(dev[strings.LastIndexByte(dev, ':')+1:], "%d", &r.devPort)

	r.root = tethertest.SeedRootApp(t, fmt.Sprintf(`{"app": "weather",
  "weather": {"exec": ["python3", "apps/weather/main.py"], "probe": "health",
              "http": {"ip": "127.0.0.1", "port": 0}, "home": {"ip": "127.0.0.1", "port": %d}}}`, r.devPort))
	os.MkdirAll(filepath.Join(r.root, "keys"), 0o755)
	pub, _ := os.ReadFile(filepath.Join(r.keys, "update.pub"))
	tethertest.WriteFile(t, filepath.Join(r.root, "keys", "update.pub"), string(pub))
	r.writeApp(filepath.Join(r.root, "apps", "weather"), "1", "ok") // installed by hand
	return r
}

// run runs the tether binary to its end and returns its output; a
// failure fails the test.
func (r *updRig) run(args ...string) string {
	r.t.Helper()
	out, code := r.try(args...)
	if code != 0 {
		r.t.Fatalf("tether %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func (r *updRig) try(args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tethertest.Binary(r.t), args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		r.t.Fatalf("tether %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// writeApp writes the weather app of version and mode into dir.
func (r *updRig) writeApp(dir, version, mode string) {
	r.t.Helper()
	os.MkdirAll(dir, 0o755)
	lib, err := os.ReadFile(filepath.Join(tethertest.ProjectRoot(r.t), "tetherapp", "tetherapp.py"))
	if err != nil {
		r.t.Fatal(err)
	}
	tethertest.WriteFile(r.t, filepath.Join(dir, "tetherapp.py"), string(lib))
	tethertest.WriteFile(r.t, filepath.Join(dir, "main.py"), fmt.Sprintf(weatherApp, version, mode))
}

// pack packs the weather app of version and mode with the rig's key, or
// with key when given, and returns the artifact's path.
func (r *updRig) pack(version, mode string, key ...string) string {
	r.t.Helper()
	k := filepath.Join(r.keys, "update.key")
	if len(key) > 0 {
		k = key[0]
	}
	return r.packWith(version, mode, "--key", k)
}

// packWith packs the weather app of version and mode with tether pack's
// flags args (--key among them) and returns the artifact's path.
func (r *updRig) packWith(version, mode string, args ...string) string {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "weather")
	r.writeApp(dir, version, mode)
	out := filepath.Join(r.t.TempDir(), "weather-"+version+".tether")
	r.run(append([]string{"pack", "--app", dir, "--name", "weather", "--version", version, "-o", out}, args...)...)
	return out
}

// startDevice starts tether device on the rig's root, with env added.
func (r *updRig) startDevice(env ...string) {
	r.t.Helper()
	cmd := exec.Command(tethertest.Binary(r.t), "device", "--root", r.root, "--net", "sim", "--update-window", r.window,
		"--recovery-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	r.dev = tethertest.StartCmd(r.t, cmd)
	r.dev.WaitOutput("connected to home", 30*time.Second)
}

// push rolls the artifact out to Device_1 and returns the rollout's id.
func (r *updRig) push(file string) string {
	r.t.Helper()
	out := r.run("push", "--hub", "http://"+r.page, "--device", "Device_1", file)
	var id string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "r-") {
			return strings.TrimSuffix(f, ":")
		}
	}
	r.t.Fatalf("tether push named no rollout:\n%s", out)
	return id
}

// api GETs a path of the hub's API into v.
func (r *updRig) api(path string, v any) {
	r.t.Helper()
	resp, err := http.Get("http://" + r.page + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
}

// result waits for Device_1's end in the rollout id.
func (r *updRig) result(id string, d time.Duration) (state, reason string) {
	r.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		var ro struct {
			Results map[string]struct{ State, Reason string }
		}
		r.api("/api/rollouts/"+id, &ro)
		if res := ro.Results["Device_1"]; res.State == "committed" || res.State == "rolled_back" || res.State == "refused" {
			return res.State, res.Reason
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("rollout %s: Device_1 did not end within %v", id, d)
	return "", ""
}

// running waits for the hub's view of Device_1 to say the app runs
// version, and returns its update/ keys.
func (r *updRig) running(version string) map[string]any {
	r.t.Helper()
	end := time.Now().Add(45 * time.Second)
	var last map[string]any
	for time.Now().Before(end) {
		var d struct {
			Online bool           `json:"online"`
			Shadow map[string]any `json:"shadow"`
		}
		r.api("/api/devices/Device_1", &d)
		last = d.Shadow
		if d.Online && d.Shadow["weather/version"] == version {
			return d.Shadow
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("the hub does not see Device_1 running weather %s: its shadow %v", version, last)
	return nil
}

// linked checks that apps/weather is whole: a link to a folder holding
// the app (never nothing, whatever was killed when).
func (r *updRig) linked() {
	r.t.Helper()
	if _, err := os.Stat(filepath.Join(r.root, "apps", "weather", "main.py")); err != nil {
		r.t.Fatalf("apps/weather is not a whole app: %v", err)
	}
}

// TestAppUpdatesRealBinaries: a Python app v1 → v2 committed; v3 that
// crashes at start, v4 that never answers its probe and v5 that breaks
// the hub connection are each rolled back by the device itself, with
// their reason at the hub; a tampered payload and a wrong key are refused
// before anything is staged; a second key in keys/ is trusted beside the
// first (rotation), and once the first is removed its artifacts are
// refused; a binary for another architecture and an app needing a newer
// tether are refused, saying why; an unsigned artifact is refused by the
// hub itself. Real hub, real device, real CLI.
func TestAppUpdatesRealBinaries(t *testing.T) {
	r := newUpdRig(t, "6s")
	r.startDevice()
	r.running("1")
	otherKeys := t.TempDir()
	r.run("keys", "init", "--dir", otherKeys)
	wrongKey := r.pack("7", "ok", filepath.Join(otherKeys, "update.key"))
	otherArch := "arm64"
	if runtime.GOARCH == otherArch {
		otherArch = "amd64"
	}
	script := filepath.Join(t.TempDir(), "tether")
	tethertest.WriteFile(t, script, "#!/bin/sh\n")

	steps := []struct {
		name, file string
		before     func() // what the owner does to the device first
		state      string
		reason     string
		runs       string // the version running after it
		unpacked   string // a version refused before staging: never unpacked
	}{
		{name: "v2 works", file: r.pack("2", "ok"), state: "committed", reason: "committed after 6s on trial", runs: "2"},
		{name: "v3 crashes at start", file: r.pack("3", "crash"), state: "rolled_back", reason: "weather 3: cannot read the sensor", runs: "2"},
		{name: "v4 never answers its probe", file: r.pack("4", "noprobe"), state: "rolled_back", reason: "health probe never answered healthy: GET health: no answer", runs: "2"},
		// Off its hub at the end, or back on it only for an instant: the
		// hub closes its link each time it sends its state.
		{name: "v5 breaks the hub connection", file: r.pack("5", "bigstate"), state: "rolled_back", reason: "not on its hub at the end of the window|the hub connection keeps breaking", runs: "2"},
		{name: "tampered payload", file: tamperFile(t, r.pack("6", "ok")), state: "refused", reason: "refused before staging: bad signature", runs: "2", unpacked: "6"},
		{name: "wrong key", file: wrongKey, state: "refused", reason: "refused before staging: signed with a key this device does not trust", runs: "2", unpacked: "7"},
		{name: "a second key trusted", file: wrongKey, before: func() {
			copyFile(t, filepath.Join(otherKeys, "update.pub"), filepath.Join(r.root, "keys", "update-2.pub"), 0o644)
		}, state: "committed", reason: "committed after", runs: "7"},
		{name: "the first key removed", file: r.pack("8", "ok"), before: func() {
			os.Remove(filepath.Join(r.root, "keys", "update.pub"))
		}, state: "refused", reason: "refused before staging: signed with a key this device does not trust", runs: "7", unpacked: "8"},
		{name: "a binary for another arch", file: r.packBinary(script, "linux", otherArch, filepath.Join(otherKeys, "update.key")), state: "refused",
			reason: "refused before staging: binary tether v9 for linux/" + otherArch + ": a binary for linux/" + otherArch + ", this device is linux/" + runtime.GOARCH, runs: "7"},
		{name: "needs a newer tether", file: r.packWith("10", "ok", "--key", filepath.Join(otherKeys, "update.key"), "--min-tether", "v99.1.0"), state: "refused",
			reason: "needs a newer tether: v99.1.0 or later, this device runs " + tethertest.Version, runs: "7", unpacked: "10"},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			r.t = t
			if st.before != nil {
				st.before()
			}
			id := r.push(st.file)
			state, reason := r.result(id, 90*time.Second)
			t.Logf("%s: %s", state, reason)
			want := regexp.MustCompile(st.reason)
			if state != st.state || !want.MatchString(reason) {
				t.Fatalf("Device_1 %s: %q; want %s with %q", state, reason, st.state, st.reason)
			}
			shadow := r.running(st.runs)
			if shadow["update/state"] != st.state || !want.MatchString(fmt.Sprint(shadow["update/reason"])) {
				t.Fatalf("the hub's view of Device_1: update/state %v, update/reason %v", shadow["update/state"], shadow["update/reason"])
			}
			var d struct {
				Update struct{ State, Version, Reason string } `json:"update"`
			}
			r.api("/api/devices/Device_1", &d)
			if d.Update.State != st.state {
				t.Fatalf("/api/devices/Device_1 update: %+v, want state %s", d.Update, st.state)
			}
			r.linked()
			if st.unpacked != "" {
				if got, _ := filepath.Glob(filepath.Join(r.root, "updates", "apps", "weather", st.unpacked+"-*")); len(got) > 0 {
					t.Fatalf("a refused update was unpacked: %v", got)
				}
			}
		})
		if !ok {
			break
		}
	}
	r.t = t
	if got, _ := filepath.Glob(filepath.Join(r.root, "updates", "apps", "weather", "*")); len(got) != 2 {
		t.Errorf("versions kept: %v, want the committed one and the one before it", got)
	}
	signed, err := os.ReadFile(r.pack("11", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(t.TempDir(), "unsigned.tether")
	tethertest.WriteFile(t, unsigned, string(tethertest.UnsignArtifact(t, signed, "", 0)))
	if out, code := r.try("push", "--hub", "http://"+r.page, "--device", "Device_1", unsigned); code == 0 || !strings.Contains(out, "not a whole artifact: want the file signature here") {
		t.Fatalf("tether push of an unsigned artifact: exit %d\n%s\nwant the hub to refuse it", code, out)
	}
}

// packBinary packs the file at path as a tether binary for goos/goarch
// (version v9), signed with key, and returns the artifact's path.
func (r *updRig) packBinary(path, goos, goarch, key string) string {
	r.t.Helper()
	out := filepath.Join(r.t.TempDir(), "tether-"+goarch+".tether")
	r.run("pack", "--binary", path, "--os", goos, "--arch", goarch, "--version", "v9", "--key", key, "-o", out)
	return out
}

// TestAppUpdateSurvivesSIGKILL kills the device (SIGKILL) at each step of
// an update, checks the app's folder is whole at that instant, restarts
// the device, and checks it ends on a working version by itself.
func TestAppUpdateSurvivesSIGKILL(t *testing.T) {
	r := newUpdRig(t, "6s")
	steps := []struct {
		hold  string // where the device is killed (TETHER_TEST_UPDATE_HOLD; "trial": in its window)
		mode  string
		state string // how the update ends after the restart
		runs  string
	}{
		{"download", "ok", "committed", "k-download"},
		{"staging", "ok", "committed", "k-staging"},
		{"staged", "ok", "committed", "k-staged"},
		{"switch", "ok", "committed", "k-switch"},
		{"trial", "ok", "committed", "k-trial"},
		{"rollback", "crash", "rolled_back", "k-trial"},
	}
	for _, st := range steps {
		ok := t.Run(st.hold, func(t *testing.T) {
			r.t = t
			version := "k-" + st.hold
			var env []string
			if st.hold != "trial" {
				env = append(env, "TETHER_TEST_UPDATE_HOLD="+st.hold)
			}
			r.startDevice(env...)
			id := r.push(r.pack(version, st.mode))
			if st.hold == "trial" {
				r.dev.WaitOutput("update on trial", 60*time.Second)
			} else {
				r.dev.WaitOutput("holding at "+st.hold, 60*time.Second)
			}
			r.dev.Signal(syscall.SIGKILL)
			r.dev.Wait(10 * time.Second)
			r.linked() // the instant after the kill: never on nothing
			r.startDevice()
			state, reason := r.result(id, 90*time.Second)
			t.Logf("%s: %s", state, reason)
			if state != st.state {
				t.Fatalf("after SIGKILL at %s and a restart: %s (%s), want %s", st.hold, state, reason, st.state)
			}
			r.running(st.runs)
			r.linked()
			if st.hold == "download" && !regexp.MustCompile(`update downloaded.*resumed_at=[1-9]`).MatchString(r.dev.Output()) {
				t.Fatalf("the download did not resume where it was cut:\n%s", r.dev.Output())
			}
			r.dev.Signal(syscall.SIGTERM)
			r.dev.Wait(15 * time.Second)
		})
		if !ok {
			break
		}
	}
}

// tamperFile changes a byte of the artifact's payload and writes its
// sha256 into the manifest, keeping the signature: what an attacker
// without the key would send. It returns the new file's path.
func tamperFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := path + ".tampered"
	tethertest.WriteFile(t, out, string(tethertest.TamperArtifact(t, b)))
	return out
}
