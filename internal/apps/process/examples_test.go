package process_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// pyFlows drive the examples (examples/apps) over the command protocol
// with two clients, a and b (two local clients, or two pages of a real
// hub): what the program replies reaches the client that asked and no
// other; what it broadcasts, and its state, reach both;
// GET help lists its items, and tether's, each with a line of doc and
// its arguments; tether's own items still answer; a request
// for an unknown item, or with an argument of the wrong type, gets an
// error that says so.
const pyFlows = tethertest.PyLib + `
async def common(a, b, app, items, cmd):
    await recv_until(a, lambda m: m.get("app") == app)
    await a.send(req("GET", "help"))
    h = (await recv_until(a, lambda m: "help" in m))["help"]
    mine = {i["name"] for i in h["items"] if i.get("app")}
    assert h["app"] == app and set(items) == mine, (items, h)
    undocumented = [i["kind"] + " " + i["name"] for i in h["items"] if not i.get("doc")]
    assert not undocumented, ("items without a doc line in help", undocumented)
    log = [i for i in h["items"] if (i["kind"], i["name"]) == ("GET", "log")][0]
    assert [(x["name"], x["type"], x.get("optional")) for x in log["args"]] == [("n", "integer", True)], log
    await a.send(req("CMD", "no_such_item"))
    e = (await recv_until(a, lambda m: "error" in m))["error"]
    assert 'unknown item "no_such_item"' in e and cmd in e and "restart" in e, e
    await a.send(req("GET", "wifi"))
    await recv_until(a, lambda m: "wifi/net/ip" in m)

async def only_a(a, b, want):
    """a got want; b, asking after, sees its own answer and never a's
    (through a hub too: each page is a client of its own)."""
    got = await recv_until(a, lambda m: m == want)
    await b.send(req("GET", "help"))
    seen = await collect_until(b, lambda m: "help" in m)
    assert want not in seen, ("b got a's reply", seen)

async def flow_fake(a, b):
    await common(a, b, "fake", ["hal", "start_interface", "stop_interface", "send_message"], "send_message")
    await a.send(req("CMD", "stop_interface"))
    await recv_until(b, lambda m: m.get("fake_interface/running") is False)
    await a.send(req("CMD", "start_interface"))
    await only_a(a, b, {"info": "fake_interface started"})
    await recv_until(b, lambda m: m.get("fake_interface/running") is True)
    await a.send(req("CMD", "send_message", "hello"))
    for ws in (a, b):
        assert await recv_until(ws, lambda m: "fake_interface/msg" in m) == {"fake_interface/msg": "HELLO"}
    await a.send(req("CMD", "send_message", 5))
    e = (await recv_until(a, lambda m: "error" in m))["error"]
    assert "argument 1 (text): want a string" in e, e
    await a.send(req("CMD", "hal"))
    d = (await recv_until(a, lambda m: "hal/drivers" in m))["hal/drivers"]
    assert d == [{"name": "fake_interface", "kind": "fake", "running": True}], d

async def flow_sensor(a, b):
    await common(a, b, "sensor", ["reading", "set_interval"], "set_interval")
    first = (await recv_until(b, lambda m: "sensor/count" in m))["sensor/count"]
    await recv_until(b, lambda m: m.get("sensor/count", 0) >= first + 2, timeout=10)
    await a.send(req("CMD", "set_interval", 0.2))
    await only_a(a, b, {"info": "a reading every 0.2 s"})
    await recv_until(b, lambda m: m.get("sensor/interval") == 0.2)
    t0 = time.time()
    now = (await recv_until(b, lambda m: "sensor/count" in m))["sensor/count"]
    await recv_until(b, lambda m: m.get("sensor/count", 0) >= now + 5, timeout=10)
    await a.send(req("CMD", "set_interval", 0))
    e = (await recv_until(a, lambda m: "error" in m))["error"]
    assert "want 0.1 to 3600 seconds" in e, e
    await a.send(req("GET", "reading"))
    r = (await recv_until(a, lambda m: "sensor/now" in m))["sensor/now"]
    assert 15 < r < 30, r

async def flow_counter(a, b):
    await common(a, b, "counter", ["inc", "reset", "count"], "reset")
    await a.send(req("CMD", "reset"))
    await recv_until(b, lambda m: m.get("counter/value") == 0)
    await a.send(req("CMD", "inc"))
    await only_a(a, b, {"info": "now 1"})
    await a.send(req("CMD", "inc", 41))
    await only_a(a, b, {"info": "now 42"})
    await recv_until(b, lambda m: m.get("counter/value") == 42)
    await a.send(req("CMD", "inc", "x"))
    e = (await recv_until(a, lambda m: "error" in m))["error"]
    assert "argument 1 (by): want an integer" in e, e
    await b.send(req("GET", "count"))
    assert await recv_until(b, lambda m: "counter/now" in m) == {"counter/now": 42}
    # Its standard error is the device's log: the live log shows it.
    await a.send(req("CMD", "log_subscribe", "info"))
    await recv_until(a, lambda m: m.get("log/subscribed") == "info")
    await b.send(req("CMD", "inc", 1))
    await recv_until(a, lambda m: any("component=stderr" in l and "counter: 43" in l for l in m.get("log/lines", [])))
    await a.send(req("CMD", "log_unsubscribe"))
    await recv_until(a, lambda m: "log/subscribed" in m and m["log/subscribed"] == "")
    # a's subscription was a's alone (through a hub too: one per page).
    await b.send(req("GET", "help"))
    seen = await collect_until(b, lambda m: "help" in m)
    assert not any("log/lines" in m or "log/subscribed" in m for m in seen), ("b got a's log", seen)

async def flow_notes(a, b):
    await common(a, b, "notes", ["add", "clear", "notes"], "clear")
    await a.send(req("CMD", "clear"))
    await recv_until(b, lambda m: m.get("notes/count") == 0)
    await a.send(req("CMD", "add", "milk"))
    for ws in (a, b):
        assert await recv_until(ws, lambda m: "notes/msg" in m) == {"notes/msg": "milk"}
        await recv_until(ws, lambda m: m.get("notes/count") == 1 and m.get("notes/last", "").endswith(" milk"))
    await a.send(req("GET", "notes"))
    got = await recv_until(a, lambda m: "notes/all" in m)
    assert got["notes/all"][0].endswith(" milk"), got
    await b.send(req("GET", "help"))
    seen = await collect_until(b, lambda m: "help" in m)
    assert not any("notes/all" in m for m in seen), seen
    await a.send(req("CMD", "add", ""))
    e = (await recv_until(a, lambda m: "error" in m))["error"]
    assert e == "CMD add: want a note", e

async def main(url, flow):
    async with websockets.connect(url, extra_headers=DEVICE_AUTH) as a, websockets.connect(url, extra_headers=DEVICE_AUTH) as b:  # an open hub takes no notice
        await globals()["flow_" + flow](a, b)
    print("flow ok", flow)
asyncio.run(main(sys.argv[1], sys.argv[2]))
`

// The four examples, each a device root: the Python fake interface, the
// Python sensor, the shell counter and the Go notes (built here), each
// driven locally and through a real hub.
func TestExamplesLocallyAndThroughHub(t *testing.T) {
	tethertest.NeedPython(t)
	for _, ex := range []struct{ name, flow string }{
		{"fake-interface", "fake"}, {"sensor", "sensor"}, {"shell", "counter"}, {"goapp", "notes"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			devPort, pages := hub(t)
			root := exampleRoot(t, ex.name, atoi(t, devPort))
			if ex.name == "goapp" {
				buildGo(t, "examples/apps/goapp", filepath.Join(root, "notes"))
			}
			dev, addr := device(t, root)
			for _, via := range []string{"local", "hub"} {
				url := "ws://" + addr + "/"
				if via == "hub" {
					dev.WaitOutput("connected to home", 30*time.Second)
					url = "ws://" + pages + "/Device_1"
				}
				out := tethertest.RunPython(t, 60*time.Second, pyFlows, url, ex.flow, via)
				if !strings.Contains(out, "flow ok") {
					t.Fatalf("%s: python said:\n%s", url, out)
				}
			}
		})
	}
}
