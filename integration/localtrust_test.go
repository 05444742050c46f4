package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/localpeer"
	"tether/internal/tethertest"
)

// pySeedClient is a seed-style host script in Python's websockets: no
// credential; for each URL and text it waits for a message holding the
// text, then asks GET wifi. With --refused it expects every handshake to
// be refused and prints the status.
const pySeedClient = `
import asyncio, sys, websockets
async def main():
    args = sys.argv[1:]
    refused = args[0] == "--refused"
    if refused:
        args = args[1:]
    for url, want in zip(args[0::2], args[1::2]):
        try:
            async with websockets.connect(url) as ws:
                while want not in await asyncio.wait_for(ws.recv(), 10):
                    pass
                await ws.send('["GET", "wifi", []]')
                while "wifi/" not in await asyncio.wait_for(ws.recv(), 10):
                    pass
        except websockets.InvalidStatusCode as e:
            print("refused", e.status_code)
            continue
        assert not refused, url + ": let in"
        print("ok", url)
asyncio.run(main())
`

// pyGet prints the status of GET url (Python's urllib, no credential).
const pyGet = `
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
`

// asNobody runs a Python script as the user nobody (65534): a local
// process of another user than the device's. It needs root.
func asNobody(t *testing.T, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tethertest.Python, append([]string{"-c", script}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir, cmd.WaitDelay = "/", 2*time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python as nobody: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// trustLine is what the device's log says about local trust.
func trustLine() string {
	if os.Geteuid() == 0 {
		return "local processes of root (uid 0) are trusted on loopback"
	}
	return fmt.Sprintf("local processes of uid %d and root are trusted on loopback", os.Geteuid())
}

// seedRootNoPassword writes a seed-format root naming app, with no
// device password (the device makes one nobody here reads), as the seed's
// scripts and a fresh device have.
func seedRootNoPassword(t *testing.T, app string, h, w int) string {
	root := t.TempDir()
	write(t, filepath.Join(root, "network.json"), tethertest.SeedNetwork)
	write(t, filepath.Join(root, "app.json"), tethertest.SeedApp(app, h, w, tethertest.FreePort(t), tethertest.FreePort(t)))
	return root
}

// TestLocalTrustSeedScripts runs the real binary on seed-format roots
// whose password no client knows, "auth" on (no key): this test process
// and Python's websockets, the device's own user on loopback, use the
// demo's page and its command API on both ports, and recovery's page, API
// and command protocol, with no credential, as the seed's scripts do. A
// request with a proxy's X-Forwarded-For is refused, and so is a process
// of another user (nobody) on the same host; the log says who is trusted
// and never shows the password.
func TestLocalTrustSeedScripts(t *testing.T) {
	if !localpeer.Supported {
		t.Skip("local trust is Linux only")
	}
	tethertest.NeedPython(t)
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	roots := []string{seedRootNoPassword(t, "demo", h, w), seedRootNoPassword(t, "nosuchapp", tethertest.FreePort(t), tethertest.FreePort(t))}
	procs := []*tethertest.Proc{tethertest.Start(t, "device", "--root", roots[0], "--net", "sim")}
	tethertest.WaitPort(t, addr(w), 30*time.Second)
	rec := addr(tethertest.FreePort(t))
	procs = append(procs, tethertest.Start(t, "device", "--root", roots[1], "--net", "sim", "--recovery-addr", rec))
	tethertest.WaitPort(t, rec, 30*time.Second)
	procs[0].WaitOutput(trustLine(), 10*time.Second)

	page := "http://" + addr(h) + "/"
	if code, body := get(t, page); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("GET / from the device's own user: %d %.100q", code, body)
	}
	if code, body := get(t, "http://"+rec+"/"); code != 200 || !strings.Contains(body, "nosuchapp") {
		t.Errorf("recovery's page from the device's own user: %d %.100q, want it naming nosuchapp", code, body)
	}
	if code, body := get(t, "http://"+rec+"/api/status"); code != 200 || !strings.Contains(body, "nosuchapp") {
		t.Errorf("recovery's GET /api/status from the device's own user: %d %.100q", code, body)
	}
	out := tethertest.RunPython(t, 60*time.Second, pySeedClient, "ws://"+addr(w)+"/", `"iam"`, "ws://"+addr(h)+"/", `"iam"`, "ws://"+rec+"/", `"recovery"`)
	if strings.Count(out, "ok ") != 3 {
		t.Errorf("python websockets, no credential:\n%s", out)
	}

	// Through a proxy (a forwarding header): the client is not the proxy.
	for _, a := range []string{"http://" + addr(h) + "/", "http://" + rec + "/api/status"} {
		if code, _ := get(t, a, "X-Forwarded-For", "192.0.2.7"); code != 401 {
			t.Errorf("GET %s with X-Forwarded-For: %d, want 401", a, code)
		}
	}
	if code, _ := rawHandshake(t, addr(w), "/", "X-Forwarded-For: 192.0.2.7"); code != 401 {
		t.Errorf("the command API's upgrade with X-Forwarded-For: %d, want 401", code)
	}

	// Another user of the same host.
	if os.Geteuid() != 0 {
		t.Log("not root: the refusal of another user's process is checked with a fabricated table in package localpeer")
	} else {
		for _, a := range []string{page, "http://" + rec + "/"} {
			if got := asNobody(t, pyGet, a); got != "401" {
				t.Errorf("GET %s from another user's process: %s, want 401", a, got)
			}
		}
		if got := asNobody(t, pySeedClient, "--refused", "ws://"+addr(w)+"/", `"iam"`, "ws://"+rec+"/", `"recovery"`); strings.Count(got, "refused 401") != 2 {
			t.Errorf("the command APIs from another user's process:\n%s", got)
		}
	}
	for i, p := range procs {
		if m := passwordLine.FindStringSubmatch(p.Output()); m == nil || !strings.Contains(p.Output(), trustLine()) {
			t.Errorf("the device did not make a password, or does not say who is trusted:\n%s", p.Output())
		} else if log, _ := os.ReadFile(filepath.Join(roots[i], "tether.log")); len(log) == 0 || strings.Contains(string(log), m[1]) {
			t.Errorf("tether.log is empty or holds the password:\n%s", log)
		}
	}
}

// TestStrictAuthRefusesLocal: with "auth": "strict" the device's own
// user's processes on loopback are refused as anyone else is (401), on the
// demo's page and command API and on recovery's page, API and command
// protocol, and let in with the password.
func TestStrictAuthRefusesLocal(t *testing.T) {
	tethertest.NeedPython(t)
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	d := tethertest.Start(t, "device", "--root", tethertest.SeedRootApp(t, tethertest.StrictAuth(tethertest.SeedApp("demo", h, w, tethertest.FreePort(t), tethertest.FreePort(t)))), "--net", "sim")
	tethertest.WaitPort(t, addr(w), 30*time.Second)
	rec := addr(tethertest.FreePort(t))
	r := tethertest.Start(t, "device", "--root", tethertest.SeedRootApp(t, tethertest.StrictAuth(tethertest.SeedApp("nosuchapp", tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t)))), "--net", "sim", "--recovery-addr", rec)
	tethertest.WaitPort(t, rec, 30*time.Second)
	d.WaitOutput(`local processes too (\"auth\": \"strict\")`, 10*time.Second)
	if strings.Contains(d.Output(), "are trusted on loopback") || strings.Contains(r.Output(), "are trusted on loopback") {
		t.Errorf("a strict device says local processes are trusted:\n%s", d.Output())
	}
	for _, a := range []string{"http://" + addr(h) + "/", "http://" + rec + "/", "http://" + rec + "/api/status"} {
		if code, _ := get(t, a); code != 401 {
			t.Errorf("GET %s from the device's own user, strict: %d, want 401", a, code)
		}
		if code, _ := get(t, a, deviceAuthKV...); code != 200 {
			t.Errorf("GET %s with the password, strict: %d, want 200", a, code)
		}
	}
	out := tethertest.RunPython(t, 60*time.Second, pySeedClient, "--refused", "ws://"+addr(w)+"/", `"iam"`, "ws://"+addr(h)+"/", `"iam"`, "ws://"+rec+"/", `"recovery"`)
	if strings.Count(out, "refused 401") != 3 {
		t.Errorf("python websockets, no credential, strict:\n%s", out)
	}
	c := dialRaw(t, addr(w), "/", deviceAuth)
	c.waitText(`"iam"`, 10*time.Second)
}
