package process_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// Programs that misbehave on purpose. out() writes one protocol line.
const pyOut = `import json, sys, time
def out(m):
    sys.stdout.write(json.dumps(m) + "\n")
    sys.stdout.flush()
`

var misbehaving = map[string]string{
	// flood: on CMD go, 50000 broadcasts and 50000 state updates as fast
	// as it can write them, then flood/done.
	"flood": pyOut + `out({"type": "announce", "items": [{"kind": "CMD", "name": "go", "args": []}], "keys": []})
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "request":
        for i in range(50000):
            sys.stdout.write('{"type":"broadcast","msg":{"flood/n":%d}}\n{"type":"state","state":{"flood/i":%d}}\n' % (i, i))
        out({"type": "state", "state": {"flood/done": True}})
`,
	// huge: a line of 100 MB between two state updates.
	"huge": pyOut + `out({"type": "announce", "items": [], "keys": []})
out({"type": "state", "state": {"huge/before": 1}})
chunk = "x" * (1 << 20)
for i in range(100):
    sys.stdout.write(chunk)
sys.stdout.write("\n")
out({"type": "state", "state": {"huge/after": 1}})
time.sleep(3600)
`,
	// bad: lines that are not the protocol, then a good one.
	"bad": pyOut + `out({"type": "announce", "items": [], "keys": []})
for line in ["not json", "{", "[1, 2]", '{"type": "nope"}', '{"type": "reply", "msg": {"a": 1}}', "\x00\xff\xfe",
             '{"type": "state", "state": {"iam": "evil", "bad/ok": 1}}']:
    sys.stdout.write(line + "\n")
out({"type": "state", "state": {"bad/done": True}})
time.sleep(3600)
`,
	// dflood: on CMD go, 50000 sends to the fake driver "f2" (each
	// answered to every client as f2/msg), then dflood/done.
	"dflood": pyOut + `out({"type": "announce", "items": [{"kind": "CMD", "name": "go", "args": []}], "keys": []})
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "request":
        out({"type": "driver", "driver": "f2", "op": "start"})
        for i in range(50000):
            sys.stdout.write('{"type":"driver","driver":"f2","op":"send","text":"m%d"}\n' % i)
        out({"type": "state", "state": {"dflood/done": True}})
`,
	// deaf: never reads its input.
	"deaf": pyOut + `out({"type": "announce", "items": [{"kind": "CMD", "name": "poke", "args": [{"name": "n", "type": "integer"}]}], "keys": []})
time.sleep(3600)
`,
}

// pyPoke sends n requests CMD poke [i] while reading what comes, with at
// most 100 unanswered (a client that sends without reading is closed as
// too slow), until done(message) says so.
const pyPoke = `
async def poke(ws, n, done):
    answered, sent, finished = 0, 0, False
    async def read():
        nonlocal answered, finished
        while not finished:
            m = json.loads(await asyncio.wait_for(ws.recv(), 10))
            answered += "iam" in m
            finished = done(m)
    reader = asyncio.ensure_future(read())
    while sent < n and not finished:
        if sent - answered < 100:
            await ws.send(req("CMD", "poke", sent))
            sent += 1
        else:
            await asyncio.sleep(0.005)
    await reader
`

// pyBounds checks, from a client, that the device still answers and says
// what it dropped.
const pyBounds = tethertest.PyLib + pyPoke + `
async def wifi_answers(ws):
    t0 = time.time()
    await ws.send(req("GET", "wifi"))
    await recv_until(ws, lambda m: "wifi/net/ip" in m, timeout=5)
    return time.time() - t0

async def state_until(ws, st, cond, timeout=10):
    """st if it satisfies cond (the program may have written everything
    before the client came), else the next state object that does."""
    if cond(st):
        return st
    return await recv_until(ws, lambda m: "app/pid" in m and cond(m), timeout)

async def main(url, case):
    # open_timeout 60: at load 24 the handshake took over 10 s
    async with websockets.connect(url, max_size=2**24, extra_headers=DEVICE_AUTH, open_timeout=60) as ws:
        st = await recv_until(ws, lambda m: "app/pid" in m)
        pid = st["app/pid"]
        if case in ("flood", "dflood"):
            key, what = {"flood": ("flood/n", "broadcasts"), "dflood": ("f2/msg", "driver answers")}[case]
            await ws.send(req("CMD", "go"))
            n = 0
            async def count():
                nonlocal n
                while True:
                    m = json.loads(await ws.recv())
                    n += key in m
                    if m.get(case + "/done"):
                        return m
            st = await asyncio.wait_for(count(), 60)
            print(what, "through", n, "dropped", st["app/dropped"]["over_rate"])
            assert 0 < n < 50000 and st["app/dropped"]["over_rate"] > 0, (n, st["app/dropped"])
        elif case == "huge":
            st = await state_until(ws, st, lambda m: m.get("huge/after") == 1, timeout=60)
            assert st["app/dropped"]["long_lines"] == 1, st["app/dropped"]
        elif case == "bad":
            st = await state_until(ws, st, lambda m: m.get("bad/done"))
            assert st["iam"] == "Device_1" and st["bad/ok"] == 1, st
            assert st["app/dropped"]["bad_lines"] == 6 and st["app/dropped"]["state_refused"] == 1, st["app/dropped"]
        elif case == "deaf":
            refused = 0
            def seen(m):
                nonlocal refused
                refused += "not reading its requests" in m.get("error", "")
                return m.get("app/dropped", {}).get("requests", 0) >= 1000
            await poke(ws, 3000, seen)
            print("refused", refused)
            assert refused >= 1000, refused
        took = await wifi_answers(ws)
        print("GET wifi answered in %.2f s" % took)
        st = await recv_until(ws, lambda m: "app/pid" in m)
        assert st["app/pid"] == pid, ("restarted", pid, st["app/pid"])
    print("bounded ok", case)
asyncio.run(main(sys.argv[1], sys.argv[2]))
`

// Bounded both ways: a program that floods its output, writes a 100 MB
// line, writes lines that are not the protocol, or never reads its input
// neither blocks the device (GET wifi still answers) nor grows its memory
// with what it sends (the peak RSS stays far below the 100 MB line); each
// is counted in app/dropped and logged, and the program is not restarted.
func TestBoundedBothWays(t *testing.T) {
	tethertest.NeedPython(t)
	for _, name := range []string{"flood", "dflood", "huge", "bad", "deaf"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			drivers := ""
			if name == "dflood" {
				drivers = `, "drivers": {"f2": {"kind": "fake"}}`
			}
			root := writeRoot(t, `{"exec": ["`+tethertest.Python+`", "app/`+name+`.py"], `+page+drivers+`}`,
				map[string]string{"app/" + name + ".py": misbehaving[name]})
			dev, addr := device(t, root)
			base := rss(t, dev.Cmd.Process.Pid, "VmRSS")
			out := tethertest.RunPython(t, 120*time.Second, pyBounds, "ws://"+addr+"/", name)
			if !strings.Contains(out, "bounded ok") {
				t.Fatalf("python said:\n%s", out)
			}
			peak := rss(t, dev.Cmd.Process.Pid, "VmHWM")
			t.Logf("%s: %s; tether's RSS %d MiB at start, peak %d MiB", name, strings.TrimSpace(out), base>>20, peak>>20)
			if name == "huge" && peak-base > 50<<20 {
				t.Errorf("peak RSS %d MiB, %d MiB over the start: the 100 MB line was held", peak>>20, (peak-base)>>20)
			}
			want := map[string]string{"flood": "messages over the rate dropped", "dflood": "messages over the rate dropped", "huge": "a line over the limit was dropped",
				"bad": "line refused", "deaf": "request refused: the program is not reading its input"}[name]
			dev.WaitOutput(want, 5*time.Second)
		})
	}
}

// rss reads a memory figure of /proc/<pid>/status, in bytes.
func rss(t *testing.T, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}
