package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// pyShadow is a device and pages in Python's websockets checking what a
// real hub keeps as a device's shadow and how a page that connects gets it.
const pyShadow = `
import asyncio, json, sys, urllib.request, websockets
DEV, PAGE, HTTP = sys.argv[1], sys.argv[2], sys.argv[3]
EVENTS = ("info", "error", "fake_interface/msg", "uart/line", "log/lines", "recovery/file/network.json",
          "wifi/test/result", "wifi/store/result", "wifi/scan")
SECRETS = ("wifi-pass", "hub-token")

async def until(ws, pred):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if pred(m):
            return m

async def relay(dev, page, *msgs):
    for m in msgs:
        await dev.send(json.dumps(m))
        await until(page, lambda r: r == m)

async def fresh(url):
    async with websockets.connect(url, max_size=2**24) as ws:
        raw = await asyncio.wait_for(ws.recv(), 10)
        m = json.loads(raw)
        if "hub/device/connected" in m:
            return {}, raw
        assert m.get("hub/shadow/replayed") is True, "first message not marked as replayed: %r" % raw[:200]
        assert isinstance(m.get("hub/shadow/age"), (int, float)), "no age: %r" % raw[:200]
        return m, raw

async def main():
    url = "/py-shadow"
    netfile = json.dumps({"sta": {"ssid": "home", "pass": "wifi-pass"}, "demo": {"home": {"token": "hub-token"}}})
    async with websockets.connect(DEV + url) as dev, websockets.connect(PAGE + url) as page:
        await until(page, lambda m: m.get("hub/device/connected") is True)
        await relay(dev, page,
            {"iam": "py-shadow", "app": "recovery", "recovery": True, "recovery/reason": "unknown app"},
            {"info": "status follows"}, {"error": "boom"}, {"fake_interface/msg": "HI"}, {"uart/line": "x"},
            {"log/lines": ["a"]}, {"wifi/net/ip": "10.0.0.7"}, {"wifi/test/result": "Fail"},
            {"wifi/store/result": "Success"}, {"wifi/scan": [{"ssid": "cafe", "signal": 31, "secure": False}]},
            {"recovery/file/network.json": netfile, "wifi/sta/pass": "wifi-pass", "home/token": "hub-token"})
        m, raw = await fresh(PAGE + url)
        bad = [k for k in m if k in EVENTS]
        assert not bad, "a fresh page was replayed events or replies %s" % bad
        assert m.get("recovery") is True and m.get("wifi/net/ip") == "10.0.0.7", "state missing: %r" % raw
        assert not any(s in raw for s in SECRETS), "a secret reached a fresh page: %r" % raw
        await relay(dev, page, {"iam": "py-shadow", "app": "recovery", "recovery/reason": "again"})
        m, raw = await fresh(PAGE + url)
        assert "recovery" not in m and m.get("recovery/reason") == "again", "a state object did not replace the last: %r" % raw
    await asyncio.sleep(0.5)
    async with websockets.connect(DEV + url) as dev, websockets.connect(PAGE + url) as page:
        await until(page, lambda m: m.get("hub/device/connected") is True)
        await relay(dev, page, {"iam": "py-shadow", "app": "demo", "fake_interface/running": False})
        m, raw = await fresh(PAGE + url)
        left = [k for k in m if k.startswith("recovery") or k == "wifi/net/ip"]
        assert not left and m.get("app") == "demo", "after a reconnect the shadow still holds %s: %r" % (left, raw)
        api = urllib.request.urlopen(HTTP + "/api/devices" + url).read().decode()
        assert "recovery" not in api and '"shadow_age_s"' in api, "/api/devices%s: %s" % (url, api[:300])
        assert not any(s in api for s in SECRETS), "a secret in /api/devices: %s" % api
        for i in range(100):  # 100 keys of 1 KB against --shadow-keys 50 and --max-message 16384
            await dev.send(json.dumps({"k%03d" % i: "v" * 1000}))
        await until(page, lambda m: "k099" in m)
        m, raw = await fresh(PAGE + url)
        assert len(raw) <= 16384 and len(m) <= 50 + 3, "a fresh page's first message: %d bytes, %d keys" % (len(raw), len(m))
    print("python shadow: state kept, events and secrets not, replaced by state and reconnects, bounded")

asyncio.run(main())
`

// TestHubShadowFromPython drives the shadow rules of a real hub from
// Python websockets peers: state kept, events, replies and secrets never,
// a state object replaces the last, a reconnect replaces the shadow, a
// fresh page's first message is marked as replayed with its age and stays
// within the bounds.
func TestHubShadowFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	h := startHub(t, 0, "--shadow-keys", "50", "--max-message", "16384")
	out := tethertest.RunPython(t, 90*time.Second, pyShadow, "ws://"+h.dev, "ws://"+h.page, "http://"+h.page)
	if !strings.Contains(out, "bounded") {
		t.Fatalf("python said %q", out)
	}
	h.alive(t)
}

// TestRecoverySecretsStayOffTheHub: a page asks a real device in recovery,
// through a real hub, for its status (both config files, secrets in them):
// neither the device's hub token nor its WiFi password reaches the hub's
// shadow (a later page, /api/devices/<id>) or its message log. The device
// masks them itself now, so a device that masks nothing (the seed's
// firmware, an older tether) sends its files and secret keys in the clear
// too: the hub must keep them off on its own.
func TestRecoverySecretsStayOffTheHub(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "messages.log")
	auth := filepath.Join(t.TempDir(), "auth.json")
	write(t, auth, `{"devices": {"Device_1": {"token": "hub-token-0123"}, "Old_1": {"token": "old-token-89"}}, "pages": [{"token": "page-secret"}]}`)
	h := startHub(t, 0, "--auth", auth, "--log-file", logPath)
	root := tethertest.SeedRoot(t, "nosuchapp", tethertest.FreePort(t), tethertest.FreePort(t), h.devicePort, tethertest.FreePort(t))
	net := strings.Replace(tethertest.SeedNetwork, `"pass": "<AP password>"`, `"pass": "wifi-pass-4567"`, 1)
	write(t, filepath.Join(root, "network.json"), net)
	app, _ := os.ReadFile(filepath.Join(root, "app.json"))
	write(t, filepath.Join(root, "app.json"), strings.Replace(string(app), `"port": `+port(h.dev)+`
        }`, `"port": `+port(h.dev)+`, "token": "hub-token-0123"
        }`, 1))
	rec := addr(tethertest.FreePort(t))
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim", "--recovery-addr", rec)
	tethertest.WaitPort(t, rec, 30*time.Second)

	p := dialRaw(t, h.page, "/Device_1", "Authorization: Bearer page-secret")
	p.waitText(`"hub/device/connected": true`, 30*time.Second)
	p.sendText(`["GET", "status", []]`)
	p.waitText(`network.json`, 10*time.Second)
	p.sendText(`["CMD", "store_new_sta", ["home", "wifi-pass-4567"]]`)
	p.readText(10 * time.Second)

	// A device that masks nothing itself (the seed's firmware, an older
	// tether): its recovery files, one of them broken, and secret keys in
	// the clear. The hub masks and drops them on its own.
	old := dialRaw(t, h.dev, "/Old_1", "Authorization: Bearer old-token-89")
	oldState, _ := json.Marshal(map[string]any{"iam": "Old_1", "recovery": true,
		"recovery/file/network.json": "{\"sta\": {\"ssid\": \"home\", \"pass\": \"old-wifi-7788\"}}",
		"recovery/file/app.json":     "{\"demo\": {\"home\": {\"token\": \"old-token-89\",}},}",
		"sta":                        map[string]any{"ssid": "home", "pass": "old-wifi-7788"}, "wifi/sta/pass": "old-wifi-7788"})
	old.sendText(string(oldState))
	oldPage := dialRaw(t, h.page, "/Old_1", "Authorization: Bearer page-secret")
	oldPage.waitText(`"hub/device/connected": true`, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // the message log flushes every second

	secrets := []string{"hub-token-0123", "wifi-pass-4567", "old-token-89", "old-wifi-7788"}
	fresh := dialRaw(t, h.page, "/Device_1", "Authorization: Bearer page-secret")
	first := fresh.readText(10 * time.Second)
	oldFirst := dialRaw(t, h.page, "/Old_1", "Authorization: Bearer page-secret").readText(10 * time.Second)
	_, api := get(t, "http://"+h.page+"/api/devices/Device_1", "Authorization", "Bearer page-secret")
	_, oldAPI := get(t, "http://"+h.page+"/api/devices/Old_1", "Authorization", "Bearer page-secret")
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(oldFirst, `"recovery":true`) || !strings.Contains(oldFirst, `"ssid":"home"`) {
		t.Errorf("the old device's shadow %.300s, want its state without the secrets", oldFirst)
	}
	for _, s := range secrets {
		for what, text := range map[string]string{"a new page's shadow": first, "/api/devices/Device_1": api, "the message log": string(logged),
			"the old device's shadow": oldFirst, "/api/devices/Old_1": oldAPI} {
			if strings.Contains(text, s) {
				t.Errorf("the secret %q reached %s:\n%.600s", s, what, text)
			}
		}
	}
	var m map[string]any
	if json.Unmarshal([]byte(first), &m) != nil || m["recovery"] != true {
		t.Errorf("a new page's first message %.300s, want the device's recovery state", first)
	}
	if !strings.Contains(string(logged), `"masked":true`) {
		t.Errorf("the message log does not show masked lines:\n%.600s", logged)
	}
	if dev.Exited() {
		t.Fatalf("device exited:\n%s", dev.Output())
	}
}
