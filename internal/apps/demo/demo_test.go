package demo_test

import (
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// The seed's flow from Python's websockets, on separate page and API ports
// and on one shared port; a second client sees the broadcast answer.
func TestFlowFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "two ports", true: "one port"}[shared]
		t.Run(name, func(t *testing.T) {
			h := tethertest.FreePort(t)
			w := tethertest.FreePort(t)
			if shared {
				w = h
			}
			r := start(t, seedApp(h, w, 0, ""))
			out := tethertest.RunPython(t, 30*time.Second, pyLib+`
async def main(url):
    async with websockets.connect(url) as a, websockets.connect(url) as b:
        await recv_until(b, lambda m: "iam" in m)
        print(await demo_flow(a))
        got = await recv_until(b, lambda m: "fake_interface/msg" in m)
        assert got == {"fake_interface/msg": "HELLO"}, got
        print("broadcast ok")
asyncio.run(main(sys.argv[1]))
`, r.wsURL())
			if !strings.Contains(out, "flow ok") || !strings.Contains(out, "broadcast ok") {
				t.Fatalf("python said:\n%s", out)
			}
		})
	}
}

// Every malformed request is answered with {"error": ...} saying what was
// wrong, and the connection stays open; over 64 KiB closes with 1009.
func TestBadInputFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	p := tethertest.FreePort(t)
	r := start(t, seedApp(p, p, 0, ""))
	out := tethertest.RunPython(t, 30*time.Second, pyLib+`
CASES = [
    ("not json", "not JSON"),
    ("{}", "got an object"),
    ("[1,2]", "want 3 elements"),
    ('["GET"]', "want 3 elements"),
    ('["GET", 5, "x"]', "element 2"),
    ('["PUT", "wifi", []]', "element 1"),
    ('["GET", "wifi", "x"]', "element 3"),
    ('["CMD", "no_such_item", []]', "unknown item"),
    ('["CMD", "send_message", [5]]', "want a string"),
    ('["CMD", "send_message", []]', "want 1 arguments"),
    ('["CMD", "test_new_sta", ["only-ssid"]]', "want 2 arguments"),
    ('["CMD", "store_new_sta", [1, 2]]', "want a string"),
    ('["CMD", "hal", ["x"]]', "want no arguments"),
    ('["CMD", "start_interface", ["no_such_driver"]]', "no driver"),
    ('["CMD", "send_message", ["hi"]]', "not running"),
    ("\u00e9\u0000", "not JSON"),
    (b"\x01\x02binary", "binary message"),
]
async def main(url):
    async with websockets.connect(url) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        for raw, want in CASES:
            await ws.send(raw)
            got = await recv_until(ws, lambda m: "error" in m, timeout=5)
            assert want in got["error"], (raw, want, got)
            print("answered:", got["error"])
        await ws.send(req("GET", "wifi"))
        await recv_until(ws, lambda m: "wifi/net/ip" in m)
        print("still serving after", len(CASES), "bad requests")
    async with websockets.connect(url, max_size=2**24) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        await ws.send(req("CMD", "send_message", "x" * (65 << 10)))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as e:
            assert e.code == 1009, e
            print("oversized: closed with", e.code)
    async with websockets.connect(url) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        await ws.send(req("CMD", "send_message", "x" * (60 << 10)))
        got = await recv_until(ws, lambda m: "error" in m)
        print("60 KiB accepted:", got["error"])
asyncio.run(main(sys.argv[1]))
`, r.wsURL())
	for _, want := range []string{"still serving after 17 bad requests", "oversized: closed with 1009", "60 KiB accepted: fake_interface is not running"} {
		if !strings.Contains(out, want) {
			t.Fatalf("python output lacks %q:\n%s", want, out)
		}
	}
}

// test_new_sta and store_new_sta on the simulated radio: a network that
// works reports Success, a wrong password Fail with the reason, and the
// device stays on (or returns to) a working network.
func TestStationCommandsFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	p := tethertest.FreePort(t)
	r := start(t, seedApp(p, p, 0, ""))
	out := tethertest.RunPython(t, 40*time.Second, pyLib+`
async def main(url):
    async with websockets.connect(url) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        await ws.send(req("CMD", "test_new_sta", "tether-lab", "wrong-password"))
        got = await recv_until(ws, lambda m: "wifi/test/result" in m, timeout=20)
        assert got["wifi/test/result"] == "Fail", got
        err = await recv_until(ws, lambda m: "error" in m)
        print("test with a wrong password:", got["wifi/test/result"], "-", err["error"])
        await ws.send(req("CMD", "test_new_sta", "tether-lab", "tether123"))
        got = await recv_until(ws, lambda m: "wifi/test/result" in m, timeout=20)
        assert got["wifi/test/result"] == "Success", got
        await ws.send(req("GET", "wifi"))
        net = await recv_until(ws, lambda m: "wifi/net/ap" in m)
        con = await recv_until(ws, lambda m: "wifi/net/connected" in m)
        print("test ok: on", net["wifi/net/ap"], "connected", con["wifi/net/connected"])
        await ws.send(req("CMD", "store_new_sta", "tether-guest", "guest1234"))
        got = await recv_until(ws, lambda m: "wifi/store/result" in m, timeout=20)
        assert got["wifi/store/result"] == "Success", got
        await ws.send(req("CMD", "store_new_sta", "cafe-not-here", "x"))
        got = await recv_until(ws, lambda m: "wifi/store/result" in m, timeout=20)
        assert got["wifi/store/result"] == "Fail", got
        await ws.send(req("GET", "wifi"))
        net = await recv_until(ws, lambda m: "wifi/net/ap" in m)
        print("store ok: back on", net["wifi/net/ap"])
asyncio.run(main(sys.argv[1]))
`, r.wsURL())
	for _, want := range []string{"test with a wrong password: Fail - test station", "test ok: on tether-lab connected True", "store ok: back on tether-guest"} {
		if !strings.Contains(out, want) {
			t.Fatalf("python output lacks %q:\n%s", want, out)
		}
	}
}

// GET help describes every item, tether's operator items and the demo's,
// with their arguments; the demo has no items of an app's own.
func TestHelp(t *testing.T) {
	tethertest.NeedPython(t)
	p := tethertest.FreePort(t)
	r := start(t, seedApp(p, p, 0, ""))
	out := tethertest.RunPython(t, 30*time.Second, pyLib+`
async def main(url):
    async with websockets.connect(url) as ws:
        await ws.send(req("GET", "help"))
        h = (await recv_until(ws, lambda m: "help" in m))["help"]
        assert h["app"] == "demo" and h["state"] == [], h
        items = {(i["kind"], i["name"]): i for i in h["items"]}
        for want in [("GET", "wifi"), ("CMD", "store_new_sta"), ("CMD", "send_message"), ("CMD", "hal"), ("GET", "help")]:
            assert want in items, (want, sorted(items))
        assert [a["name"] for a in items[("CMD", "store_new_sta")]["args"]] == ["ssid", "pass"], items
        send = items[("CMD", "send_message")]["args"]
        assert send[0] == {"name": "text", "type": "string"} and send[1]["optional"], send
        assert not any(i.get("app") for i in h["items"]), h
        await ws.send(req("GET", "help", "x"))
        assert "want no arguments" in (await recv_until(ws, lambda m: "error" in m))["error"]
        print("help ok", len(items))
asyncio.run(main(sys.argv[1]))
`, r.wsURL())
	if !strings.Contains(out, "help ok") {
		t.Fatalf("python said:\n%s", out)
	}
}
