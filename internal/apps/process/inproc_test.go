package process_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tether/internal/apps"
	"tether/internal/apps/process"
	"tether/internal/config"
	"tether/internal/tethertest"
)

// runApp runs a process app in this test process on root until it
// returns, or until ready is called with its addresses when serving.
type running struct {
	addrs  map[string]string
	done   chan error
	cancel context.CancelFunc
	logs   *tethertest.SyncBuffer
}

func runApp(t *testing.T, a *process.App, root string) *running {
	t.Helper()
	cfg, problems, err := apps.ConfigChecks().Load(root)
	if err != nil {
		t.Fatalf("load: %v %v", err, problems)
	}
	r := &running{done: make(chan error, 1), logs: &tethertest.SyncBuffer{}}
	ready := make(chan map[string]string, 1)
	env := &apps.Env{Config: cfg, Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
		Ready: func(addrs map[string]string) { ready <- addrs }}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.Run(ctx, env) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15 s of its context ending")
		}
		if t.Failed() {
			t.Logf("app log:\n%s", r.logs.String())
		}
	})
	select {
	case r.addrs = <-ready:
	case err := <-r.done:
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("the app neither served nor failed within 30 s")
	}
	return r
}

// result waits for Run's result.
func (r *running) result(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("Run still running after %v", d)
		return nil
	}
}

// A program that stops reading its input while requests wait is stuck:
// after StuckAfter it is stopped and Run fails, so the supervisor
// restarts it; before that, requests are refused and the device serves.
func TestStuckProgramIsRestarted(t *testing.T) {
	tethertest.NeedPython(t)
	root := writeRoot(t, `{"exec": ["`+tethertest.Python+`", "app/deaf.py"], "stop_grace": 1, `+page+`}`,
		map[string]string{"app/deaf.py": misbehaving["deaf"]})
	r := runApp(t, &process.App{StuckAfter: 2 * time.Second}, root)
	out := tethertest.RunPython(t, 60*time.Second, tethertest.PyLib+pyPoke+`
async def main(url):
    async with websockets.connect(url, close_timeout=1) as ws:
        await poke(ws, 2000, lambda m: m.get("app/dropped", {}).get("requests", 0) > 0)
    print("refused some")
asyncio.run(main(sys.argv[1]))
`, "ws://"+r.addrs["http"]+"/")
	if !strings.Contains(out, "refused some") {
		t.Fatalf("python said:\n%s", out)
	}
	err := r.result(t, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "is stuck: it has not read its input for") {
		t.Fatalf("Run: got %v, want the program stuck", err)
	}
	var nr interface{ NoRestart() bool }
	if errors.As(err, &nr) && nr.NoRestart() {
		t.Error("a stuck program asks not to be restarted")
	}
	waitNoProcs(t, root, 5*time.Second)
}

// How a program ends is Run's failure: its status or signal and the last
// lines of its standard error; exit status 125 asks not to be restarted.
func TestExitStatusAndStderr(t *testing.T) {
	for _, tt := range []struct {
		name, script, want string
		noRestart          bool
	}{
		{"status 3", "echo 'line one' >&2; echo 'it broke' >&2; exit 3", "exited with status 3; the last lines of its standard error:\n  line one\n  it broke", false},
		{"status 0", "exit 0", "exited with status 0 (nothing on its standard error)", false},
		{"status 125", "echo 'no sensor: giving up' >&2; exit 125", "exited with status 125", true},
		{"signal", "echo 'about to crash' >&2; kill -SEGV $$", "was killed by SIGSEGV", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeRoot(t, `{"exec": ["app/run.sh"], `+page+`}`, map[string]string{
				"app/run.sh": "#!/bin/sh\nprintf '{\"type\":\"announce\",\"items\":[]}\\n'\nsleep 0.3\n" + tt.script + "\n"})
			r := runApp(t, &process.App{}, root)
			err := r.result(t, 20*time.Second)
			var ee *process.ExitError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: got %v, want an *ExitError holding %q", err, tt.want)
			}
			if ee.NoRestart() != tt.noRestart {
				t.Errorf("NoRestart: got %v, want %v", ee.NoRestart(), tt.noRestart)
			}
		})
	}
}

// A program that is missing or may not be run is a located config
// problem, and a failure no restart can fix; so is a script's interpreter
// that is missing, or a script given to an interpreter.
func TestProgramChecks(t *testing.T) {
	for _, tt := range []struct {
		name, exec string
		files      map[string]string
		want       string // "" means no problem
	}{
		{"missing", `["app/nothere.sh"]`, nil, `app.json:1:29: t.exec[0]: program app/nothere.sh not found`},
		{"not executable", `["app/run"]`, map[string]string{"app/run": "#!/bin/sh\n"}, `t.exec[0]: program app/run may not be run: chmod +x it`},
		{"a folder", `["app"]`, map[string]string{"app/x.py": ""}, `program "app" not found on PATH`},
		{"interpreter missing", `["app/run.sh"]`, map[string]string{"app/run.sh": "#!/usr/bin/no-such-shell\n"}, `t.exec[0]: program app/run.sh: its interpreter (#! line): program /usr/bin/no-such-shell not found`},
		{"env interpreter missing", `["app/run.sh"]`, map[string]string{"app/run.sh": "#!/usr/bin/env no-such-python3\n"}, `its interpreter (#! line): program "no-such-python3" not found on PATH`},
		{"not on PATH", `["no-such-program-x"]`, nil, `t.exec[0]: program "no-such-program-x" not found on PATH`},
		{"script missing", `["` + tethertest.Python + `", "app/main.py"]`, nil, `t.exec[1]: no script app/main.py in the device root`},
		{"interpreter flag", `["` + tethertest.Python + `", "-u", "app/main.py"]`, nil, ""},
		{"no #! line", `["app/run.sh"]`, map[string]string{"app/run.sh": "echo hi\n"}, `t.exec[0]: program app/run.sh is neither a binary nor a script starting with a #! line`},
		{"Windows line endings", `["app/run.sh"]`, map[string]string{"app/run.sh": "#!/bin/sh\r\necho hi\r\n"}, `its #! line ends in a carriage return`},
		{"fine", `["app/run.sh"]`, map[string]string{"app/run.sh": "#!/bin/sh\n"}, ""},
		{"absolute", `["/bin/sh", "-c", "true"]`, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeRoot(t, `{"exec": `+tt.exec+`}`, tt.files)
			_, problems, err := apps.ConfigChecks().Load(root)
			got := (&config.Error{Problems: problems}).Error()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no problem", err)
				}
				return
			}
			if err == nil || !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if p := config.Validate(config.AppFile, []byte(`{"app": "t", "t": {"exec": `+tt.exec+`}}`)); config.HasErrors(p) {
				t.Errorf("the file alone, without the machine: %v", p)
			}
			// tether config check, the real binary, says the same and fails.
			cc := tethertest.Start(t, "config", "check", "--root", root)
			code := cc.Wait(30 * time.Second)
			said := strings.ReplaceAll(cc.Output(), ": error: ", ": ") // it marks each problem's level
			if code != 1 || !strings.Contains(said, tt.want) {
				t.Errorf("tether config check: exit %d, want 1 and %q:\n%s", code, tt.want, cc.Output())
			}
		})
	}
}

// A process app whose entry declares drivers gets tether's driver items
// over them, as the demo has; the program cannot take their names, nor
// those of tether's other items.
func TestDriversThroughTether(t *testing.T) {
	tethertest.NeedPython(t)
	root := writeRoot(t, `{"exec": ["`+tethertest.Python+`", "app/main.py"], "drivers": {"fake2": {"kind": "fake"}}, `+page+`}`,
		map[string]string{"app/main.py": pyOut + `out({"type": "announce", "items": [
    {"kind": "CMD", "name": "hal", "args": []}, {"kind": "GET", "name": "wifi", "args": []},
    {"kind": "CMD", "name": "ping", "args": [], "doc": "answers pong"}], "keys": []})
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "request":
        out({"type": "reply", "to": m["from"], "msg": {"t/msg": "pong"}})
`})
	r := runApp(t, &process.App{}, root)
	out := tethertest.RunPython(t, 30*time.Second, tethertest.PyLib+`
async def main(url):
    async with websockets.connect(url) as ws:
        await ws.send(req("GET", "help"))
        items = {(i["kind"], i["name"]): i for i in (await recv_until(ws, lambda m: "help" in m))["help"]["items"]}
        assert items[("CMD", "ping")].get("app") and not items[("CMD", "hal")].get("app"), items
        assert not items[("GET", "wifi")].get("app") and ("CMD", "start_interface") in items, items
        await ws.send(req("CMD", "ping"))
        await recv_until(ws, lambda m: m.get("t/msg") == "pong")
        await ws.send(req("CMD", "hal"))
        names = [d["name"] for d in (await recv_until(ws, lambda m: "hal/drivers" in m))["hal/drivers"]]
        assert names == ["fake_interface", "fake2"], names
        await ws.send(req("CMD", "start_interface", "fake2"))
        await recv_until(ws, lambda m: m.get("fake2/running") is True)
        await ws.send(req("CMD", "send_message", "hi", "fake2"))
        assert await recv_until(ws, lambda m: "fake2/msg" in m) == {"fake2/msg": "HI"}
    print("drivers ok")
asyncio.run(main(sys.argv[1]))
`, "ws://"+r.addrs["http"]+"/")
	if !strings.Contains(out, "drivers ok") {
		t.Fatalf("python said:\n%s", out)
	}
	for _, item := range []string{"CMD hal", "GET wifi"} {
		if !strings.Contains(r.logs.String(), `item refused: the name is tether's own" item="`+item+`"`) {
			t.Errorf("the log does not say %s was refused:\n%s", item, r.logs.String())
		}
	}
}
