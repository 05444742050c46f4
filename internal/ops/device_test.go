package ops_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// rig is a real tether device (and optionally a real hub) on free ports.
type rig struct {
	t              *testing.T
	root           string
	http, ws, home int
	dev, hub       *tethertest.Proc
	pagePort       int
	deviceArgs     []string
}

// newRig writes a seed-format root whose station is the sim's tether-lab.
func newRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the tether binary")
	}
	tethertest.NeedPython(t)
	r := &rig{t: t, http: tethertest.FreePort(t), ws: tethertest.FreePort(t), home: tethertest.FreePort(t)}
	r.root = tethertest.SeedRoot(t, "demo", r.http, r.ws, r.home, tethertest.FreePort(t))
	net := strings.NewReplacer(`"<AP ssid>"`, `"tether-lab"`, `"<AP password>"`, `"tether123"`).Replace(tethertest.SeedNetwork)
	tethertest.WriteFile(t, filepath.Join(r.root, "network.json"), net)
	return r
}

// startHub starts a hub whose device port is the root's home.
func (r *rig) startHub() {
	r.t.Helper()
	r.pagePort = tethertest.FreePort(r.t)
	r.hub = tethertest.Start(r.t, "hub", "--device-addr", "127.0.0.1:"+itoa(r.home), "--page-addr", "127.0.0.1:"+itoa(r.pagePort))
	tethertest.WaitPort(r.t, "127.0.0.1:"+itoa(r.pagePort), 20*time.Second)
}

// startDevice starts the device and waits for its command API.
func (r *rig) startDevice(args ...string) {
	r.t.Helper()
	r.dev = tethertest.Start(r.t, append([]string{"device", "--root", r.root, "--net", "sim"}, args...)...)
	tethertest.WaitPort(r.t, "127.0.0.1:"+itoa(r.ws), 30*time.Second)
}

func (r *rig) local() string { return "ws://127.0.0.1:" + itoa(r.ws) + "/" }
func (r *rig) page() string  { return "ws://127.0.0.1:" + itoa(r.pagePort) + "/Device_1" }

func (r *rig) read(name string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.root, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// The operator items on a real device, from Python websockets: system
// information, the scan list, the config masked, an invalid change
// refused with its location and nothing written, a valid one applied (the
// device boots again with it, the masked secret kept) and confirmed, the
// log, and restart.
func TestOperatorItems(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.startDevice()
	before := r.read("app.json")
	out := tethertest.RunPython(t, 90*time.Second, tethertest.PyLib+`
async def connect(url):
    for _ in range(100):
        try:
            return await websockets.connect(url, max_size=1 << 20, extra_headers=DEVICE_AUTH)
        except Exception:  # refused, or cut by the old server stopping
            await asyncio.sleep(0.1)
    raise SystemExit("FAIL: the device did not come back")

async def reconnect(url):
    """The device's state from a connection to its next boot: one made
    while the old app was still stopping is closed by it (1001), so try
    again."""
    for _ in range(100):
        ws = await connect(url)
        try:
            return ws, await recv_until(ws, lambda m: "iam" in m)
        except websockets.ConnectionClosed as e:
            assert e.code == 1001, e
            await asyncio.sleep(0.1)
    raise SystemExit("FAIL: the device did not come back")

async def main(url, http_port):
    ws = await connect(url)
    state = await recv_until(ws, lambda m: "iam" in m)
    assert state["config/apply"] == "" and state["config/apply/outcome"] == "", state
    if state["net/mode"] != "station":
        await recv_until(ws, lambda m: m.get("net/mode") == "station", 15)

    await ws.send(req("GET", "sys"))
    sys_ = await recv_until(ws, lambda m: "sys/version" in m and "sys/time" in m)
    for k in ["sys/time", "sys/uptime", "sys/tether/uptime", "sys/load", "sys/mem/total", "sys/mem/available",
              "sys/disk/total", "sys/disk/free", "sys/app", "sys/app/restarts", "sys/app/last_failure", "sys/log/dropped"]:
        assert k in sys_, (k, sys_)
    assert sys_["sys/app"] == "demo" and sys_["sys/app/restarts"] == 0 and sys_["sys/wifi/signal"] == 78, sys_
    assert len(sys_["sys/load"]) == 3 and sys_["sys/mem/available"] <= sys_["sys/mem/total"], sys_

    await ws.send(req("GET", "wifi_scan"))
    scan = (await recv_until(ws, lambda m: "wifi/scan" in m))["wifi/scan"]
    assert [n["ssid"] for n in scan] == ["tether-lab", "tether-guest", "cafe"], scan
    assert scan[0] == {"ssid": "tether-lab", "signal": 78, "secure": True}, scan

    await ws.send(req("GET", "config"))
    cfg = await recv_until(ws, lambda m: "config/file/app.json" in m)
    net = cfg["config/file/network.json"]
    assert '"pass": "********"' in net and "tether123" not in net, net

    bad = cfg["config/file/app.json"].replace('"port": %s' % http_port, '"port": "eighty"', 1)
    await ws.send(req("CMD", "apply_config", "app.json", bad))
    err = (await recv_until(ws, lambda m: "error" in m))["error"]
    assert err.startswith("apply_config: app.json:") and 'demo.http.port' in err and '"eighty"' in err, err

    good = cfg["config/file/app.json"].replace('"demo": {', '"demo": {"max_message": 70000,', 1)
    good_net = net.replace('"dev": "ESP32"', '"dev": "rpi4"')
    await ws.send(req("CMD", "apply_config", "app.json", good, "network.json", good_net, 30))
    info = (await recv_until(ws, lambda m: "info" in m or "error" in m))
    assert info.get("info", "").startswith("applied app.json and network.json; restarting"), info
    try:
        await recv_until(ws, lambda m: False, 10)
    except websockets.ConnectionClosed as e:
        assert e.code == 1001, e
    ws, state = await reconnect(url)
    assert state["dev"] == "rpi4" and state["config/apply"] == "pending", state
    assert state["config/apply/files"] == ["app.json", "network.json"] and 0 < state["config/apply/left"] <= 30, state
    await ws.send(req("CMD", "apply_config", "app.json", good))
    err = (await recv_until(ws, lambda m: "error" in m))["error"]
    assert "still in its confirm window" in err, err
    await ws.send(req("CMD", "confirm_config"))
    state = await recv_until(ws, lambda m: m.get("config/apply/outcome") == "confirmed")
    assert state["config/apply"] == "" and state["config/apply/result"].startswith("confirmed app.json and network.json"), state

    await ws.send(req("GET", "log", 300))
    lines = (await recv_until(ws, lambda m: "log/recent" in m))["log/recent"]
    text = "\n".join(lines)
    assert "config change applied" in text and "config change confirmed" in text, text[-2000:]
    assert "tether123" not in text, "a secret in the log"

    await ws.send(req("CMD", "restart"))
    await recv_until(ws, lambda m: m.get("info") == "restarting: the device boots again")
    ws, _ = await reconnect(url)
    await ws.send(req("GET", "sys"))
    await recv_until(ws, lambda m: m.get("sys/app") == "demo")
    print("items ok")
asyncio.run(main(sys.argv[1], sys.argv[2]))
`, r.local(), itoa(r.http))
	if !strings.Contains(out, "items ok") {
		t.Fatalf("python said:\n%s", out)
	}
	after := r.read("app.json")
	if after == before || !strings.Contains(after, `"max_message": 70000`) {
		t.Errorf("app.json after the confirmed change:\n%s", after)
	}
	if net := r.read("network.json"); !strings.Contains(net, `"pass": "tether123"`) || !strings.Contains(net, `"dev": "rpi4"`) {
		t.Errorf("network.json lost its masked secret or the change:\n%s", net)
	}
	if st, err := os.Stat(filepath.Join(r.root, "config-apply.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config-apply.json: %v %v, want mode 0600", err, st)
	}
}

// A change that points home at a dead port, left unconfirmed, is rolled
// back by itself when its window ends, and the device is back on its hub:
// seen by a Python page through a real hub.
func TestApplyRevertsWhenHubLost(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.startHub()
	r.startDevice()
	dead := tethertest.FreePort(t)
	before := r.read("app.json")
	out := tethertest.RunPython(t, 90*time.Second, tethertest.PyLib+`
async def main(url, home, dead):
    async with websockets.connect(url, max_size=1 << 20, extra_headers=DEVICE_AUTH) as ws:
        await recv_until(ws, lambda m: m.get("hub/device/connected") is True, 20)
        await ws.send(req("GET", "config"))
        app = (await recv_until(ws, lambda m: "config/file/app.json" in m))["config/file/app.json"]
        moved = app.replace('"port": %s' % home, '"port": %s' % dead)
        assert moved != app, app
        await ws.send(req("CMD", "apply_config", "app.json", moved, 6))
        info = await recv_until(ws, lambda m: "info" in m or "error" in m)
        assert info.get("info", "").startswith("applied app.json"), info
        off = await recv_until(ws, lambda m: m.get("hub/device/connected") is False, 10)
        t0 = time.monotonic()
        await recv_until(ws, lambda m: m.get("hub/device/connected") is True, 30)
        back = time.monotonic() - t0
        state = await recv_until(ws, lambda m: m.get("config/apply/outcome") == "reverted", 10)
        res = state["config/apply/result"]
        assert state["config/apply"] == "" and res.startswith("reverted app.json") and "not on its hub" in res and "home unreachable" in res, res
        print("reverted after %.1f s off the hub: %s" % (back, res))
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
`, r.page(), itoa(r.home), itoa(dead))
	if !strings.Contains(out, "reverted after") {
		t.Fatalf("python said:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
	if after := r.read("app.json"); after != before {
		t.Errorf("app.json not put back:\n%s\nwant:\n%s", after, before)
	}
}

// A change that makes the app fail (its port taken) is rolled back even
// when tether is killed in the middle of the window: the next start finds
// the change on disk, finishes its window and reverts it. The log from
// before the kill is still there after it.
func TestApplyRevertSurvivesKill(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.startDevice("--confirm-window", "8s")
	taken := tethertest.FreePort(t)
	ln := listen(t, taken)
	defer ln.Close()
	out := tethertest.RunPython(t, 60*time.Second, tethertest.PyLib+`
async def main(url, http, taken):
    async with websockets.connect(url, max_size=1 << 20, extra_headers=DEVICE_AUTH) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        await ws.send(req("GET", "config"))
        app = (await recv_until(ws, lambda m: "config/file/app.json" in m))["config/file/app.json"]
        await ws.send(req("CMD", "apply_config", "app.json", app.replace('"port": %s' % http, '"port": %s' % taken)))
        info = await recv_until(ws, lambda m: "info" in m or "error" in m)
        assert info.get("info", "").startswith("applied app.json"), info
        print("applied")
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
`, r.local(), itoa(r.http), itoa(taken))
	if !strings.Contains(out, "applied") {
		t.Fatalf("python said:\n%s", out)
	}
	r.dev.WaitOutput("attempt 1, starting app", 10*time.Second)
	r.dev.Signal(syscall.SIGKILL)
	r.dev.Wait(10 * time.Second)

	r.dev = tethertest.Start(t, "device", "--root", r.root, "--net", "sim", "--confirm-window", "8s")
	r.dev.WaitOutput("a config change is still in its confirm window", 10*time.Second)
	r.dev.WaitOutput("config change reverted", 30*time.Second)
	tethertest.WaitPort(t, "127.0.0.1:"+itoa(r.http), 30*time.Second)
	out = tethertest.RunPython(t, 30*time.Second, tethertest.PyLib+`
async def main(url):
    async with websockets.connect(url, max_size=1 << 20, extra_headers=DEVICE_AUTH) as ws:
        state = await recv_until(ws, lambda m: "iam" in m)
        res = state["config/apply/result"]
        assert state["config/apply/outcome"] == "reverted" and ("the app failed" in res or "in recovery" in res), state
        await ws.send(req("GET", "log", 300))
        lines = (await recv_until(ws, lambda m: "log/recent" in m))["log/recent"]
        starts = [i for i, l in enumerate(lines) if l.startswith("--- tether started")]
        applied = [i for i, l in enumerate(lines) if "config change applied" in l]
        assert len(starts) >= 2 and applied and applied[0] < starts[-1], "\n".join(lines[-40:])
        print("after the kill:", res)
asyncio.run(main(sys.argv[1]))
`, r.local())
	if !strings.Contains(out, "after the kill:") {
		t.Fatalf("python said:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
	if data, err := os.ReadFile(filepath.Join(r.root, "tether.log")); err != nil || !strings.Contains(string(data), "config change reverted") {
		t.Errorf("tether.log: %v\n%s", err, data)
	}
}

func listen(t *testing.T, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// The live log through a real hub: a page subscribes, the device logs a
// line (a WiFi test it is asked for), and the line reaches the page within
// a second of the test's own reply, which the device sends just after it
// (so a machine that stalls everything does not count against the log);
// system information arrives on its own once the device is on its hub.
func TestLiveLogThroughHub(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.startHub()
	r.startDevice()
	out := tethertest.RunPython(t, 60*time.Second, tethertest.PyLib+`
async def main(url):
    async with websockets.connect(url, max_size=1 << 20, extra_headers=DEVICE_AUTH) as ws:
        seen = {}
        def note(m):
            if m.get("hub/device/connected") is True: seen["on"] = 1
            if "sys/uptime" in m: seen["sys"] = 1
            return len(seen) == 2
        await recv_until(ws, note, 20)
        await ws.send(req("CMD", "log_subscribe", "info"))
        await recv_until(ws, lambda m: m.get("log/subscribed") == "info")
        await ws.send(req("CMD", "test_new_sta", "tether-guest", "guest1234"))
        at = {}
        def arrive(m):
            if "wifi/test/result" in m: at["reply"] = time.monotonic()
            if any("station test succeeded" in l for l in m.get("log/lines", [])): at["line"] = time.monotonic()
            return len(at) == 2
        await recv_until(ws, arrive, 15)
        delay = at["line"] - at["reply"]
        assert delay < 1, "the log line came %.3f s after the reply" % delay
        print("line through the hub %.3f s after the reply it precedes" % delay)
asyncio.run(main(sys.argv[1]))
`, r.page())
	if !strings.Contains(out, "line through the hub") {
		t.Fatalf("python said:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}
