package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tether/internal/hub/broker/natsbroker/natstest"
	"tether/internal/tethertest"
)

// Page identity (docs/PROTOCOL.md, "Page identity through a hub") with the
// real binaries: a tether device (the demo app) calling home to a tether
// hub, pages of it on that hub or, across NATS, on another.

// obj decodes a message the test expects to be a JSON object (nil if not).
func obj(msg string) map[string]any {
	var m map[string]any
	json.Unmarshal([]byte(msg), &m)
	return m
}

// collect reads c until a message satisfies ok and returns every message
// read, that one last.
func collect(c *tethertest.WS, what string, ok func(m map[string]any) bool) []map[string]any {
	c.T().Helper()
	var seen []map[string]any
	c.Expect(what, func(msg string) bool {
		m := obj(msg)
		seen = append(seen, m)
		return ok(m)
	})
	return seen
}

// count returns how many of ms have key.
func count(ms []map[string]any, key string) int {
	n := 0
	for _, m := range ms {
		if _, ok := m[key]; ok {
			n++
		}
	}
	return n
}

// wifiDone is the last reply to GET wifi.
func wifiDone(m map[string]any) bool { return m["info"] == "wifi status done" }

// mark sends page c a request for an unknown item named marker and
// returns what c read until its error, which is last.
func mark(c *tethertest.WS, marker string) []map[string]any {
	c.T().Helper()
	c.Request("CMD", marker, []any{})
	return collect(c, marker+"'s error", func(m map[string]any) bool {
		e, _ := m["error"].(string)
		return strings.Contains(e, marker)
	})
}

// openPage connects a page of Device_1 at the page address and waits
// until the hub says the device is connected.
func openPage(t *testing.T, page string) *tethertest.WS {
	t.Helper()
	c := tethertest.DialWS(t, "ws://"+page+"/Device_1", tethertest.WSOptions{})
	c.ExpectKey("hub/device/connected", true)
	return c
}

// pageFlow drives the device through pages at the page addresses pageA
// and pageB (one hub, or two; home is the page address of the hub holding
// the device): what the device answers one page (GET wifi's replies and
// info, errors) reaches that page and no other, nor the hub's shadow; a
// broadcast (a driver's message) and the state reach both; each page's
// live log subscription is its own (the 16 the device allows are 16
// pages), and ends when its page closes.
func pageFlow(t *testing.T, pageA, pageB, home string) {
	a, b := openPage(t, pageA), openPage(t, pageB)

	a.Request("GET", "wifi", []any{})
	a.Expect("a's info", func(msg string) bool { return wifiDone(obj(msg)) })
	a.Request("CMD", "no_such_item", []any{})
	if e := a.ExpectKey("error", nil)["error"].(string); !strings.Contains(e, `unknown item "no_such_item"`) {
		t.Fatalf("a's error: %q", e)
	}
	// A page cannot pass for another: what it sends is tagged whatever it
	// holds, so a tag of its own is part of a bad request.
	a.Send("@hub/1f/1\n" + `["GET","wifi",[]]`)
	if e := a.ExpectKey("error", nil)["error"].(string); !strings.Contains(e, "bad request") {
		t.Fatalf("a's message with a tag of its own: %q, want a bad request", e)
	}
	seen := mark(b, "b_was_here")
	if n, i, e := count(seen, "wifi/net/ip"), count(seen, "info"), count(seen, "error"); n+i != 0 || e != 1 {
		t.Fatalf("b saw %d wifi/net/ip, %d infos and %d errors: want its own error only, never a's answers: %v", n, i, e, seen)
	}
	if count(seen, "iam") == 0 {
		t.Fatalf("b never got the state after a's requests: %v", seen)
	}
	if seen := mark(a, "a_was_here"); count(seen, "error") != 1 {
		t.Fatalf("a saw b's error: %v", seen)
	}

	// A broadcast and the state reach both pages.
	a.Request("CMD", "start_interface", []any{})
	b.ExpectKey("fake_interface/running", true)
	a.Request("CMD", "send_message", []any{"hi"})
	for _, p := range []*tethertest.WS{a, b} {
		p.ExpectKey("fake_interface/msg", "HI")
	}

	// The shadow holds state only: a new page is replayed none of the
	// answers, nor the hub's /api/devices/<id>.
	fresh := tethertest.DialWS(t, "ws://"+home+"/Device_1", tethertest.WSOptions{})
	_, first := fresh.Read()
	replay := obj(first)
	if replay["hub/shadow/replayed"] != true || replay["fake_interface/running"] != true {
		t.Fatalf("a fresh page's first message %s, want the replayed state", first)
	}
	for _, k := range []string{"info", "error", "wifi/net/ip", "fake_interface/msg"} {
		if _, ok := replay[k]; ok {
			t.Fatalf("a fresh page was replayed %q: %s", k, first)
		}
	}
	fresh.Close()
	_, body := get(t, "http://"+home+"/api/devices/Device_1")
	if d := obj(body); d["page_identity"] != true || strings.Contains(body, "wifi/net/ip") {
		t.Fatalf("/api/devices/Device_1: want page_identity and no answer to one page in the shadow: %s", body)
	}
	for _, page := range []string{pageA, pageB} {
		_, body := get(t, "http://"+page+"/api/devices")
		var list []map[string]any
		json.Unmarshal([]byte(body), &list)
		if len(list) != 1 || list[0]["page_identity"] != true {
			t.Fatalf("/api/devices at %s: want Device_1 with page_identity: %s", page, body)
		}
	}

	logPerPage(t, pageA, pageB)
	seen = mark(b, "b_is_back")
	if count(seen, "log/lines")+count(seen, "log/recent")+count(seen, "log/subscribed") != 0 {
		t.Fatalf("b, which never subscribed, got others' log: %v", seen)
	}
}

// logPerPage: 16 pages subscribe to the device's live log, alternately on
// the two page addresses; a 17th is refused, since the device allows 16
// subscriptions; when the first page closes, the device is told, its
// subscription ends, and the 17th gets one.
func logPerPage(t *testing.T, pageA, pageB string) {
	var subs []*tethertest.WS
	for i := range 16 {
		p := openPage(t, []string{pageA, pageB}[i%2])
		p.Request("CMD", "log_subscribe", []any{"info"})
		p.ExpectKey("log/subscribed", "info")
		subs = append(subs, p)
	}
	late := openPage(t, pageB)
	late.Request("CMD", "log_subscribe", []any{"info"})
	if e, _ := late.ExpectKey("error", nil)["error"].(string); !strings.Contains(e, "16 connections follow the log already") {
		t.Fatalf("a 17th subscription: %q, want a refusal", e)
	}
	subs[0].Close()
	end := time.Now().Add(20 * time.Second)
	for {
		late.Request("CMD", "log_subscribe", []any{"info"})
		m := obj(late.Expect("an answer", func(msg string) bool {
			m := obj(msg)
			return m["log/subscribed"] == "info" || m["error"] != nil
		}))
		if m["log/subscribed"] == "info" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the first page closed 20 s ago and its subscription still holds: %v", m)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range subs[1:] {
		p.Close()
	}
	late.Close()
}

// waitOnline waits until the hub at page lists Device_1 online.
func waitOnline(t *testing.T, page string) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, "http://"+page+"/api/devices/Device_1")
		if obj(body)["online"] == true {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("Device_1 not online at %s after 30 s: %s", page, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPageIdentityThroughHub: two pages of a real device on one real hub.
func TestPageIdentityThroughHub(t *testing.T) {
	h := startHub(t, 0)
	d := startDevice(t, h.devicePort)
	d.proc.WaitOutput("connected to home", 30*time.Second)
	waitOnline(t, h.page)
	pageFlow(t, h.page, h.page, h.page)
	h.alive(t)
	d.alive(t)
}

// TestPageIdentityAcrossNATS: the device on hub A, hub B beside it on the
// embedded NATS server; page a on hub B, page b on hub A; the live log's
// pages on both, the first to close on hub B.
func TestPageIdentityAcrossNATS(t *testing.T) {
	ns := natstest.Start(t)
	hubA := startHub(t, 0, "--name", "hub-a", "--nats", ns.URL())
	hubB := startHub(t, 0, "--name", "hub-b", "--nats", ns.URL())
	d := startDevice(t, hubA.devicePort)
	d.proc.WaitOutput("connected to home", 30*time.Second)
	waitOnline(t, hubB.page)
	pageFlow(t, hubB.page, hubA.page, hubA.page)
	d.alive(t)
}

// pySeedDevice is a device of the seed's kind (Python websockets, no
// subprotocol offered) and two pages of it on a real hub: the seed's wire
// both ways, byte for byte, and no news of pages.
const pySeedDevice = `
import asyncio, json, sys, urllib.request, websockets
DEV, PAGE, HTTP = sys.argv[1], sys.argv[2], sys.argv[3]

async def main():
    async with websockets.connect(DEV + "/py-seed") as dev:
        assert dev.subprotocol is None, dev.subprotocol
        async with websockets.connect(PAGE + "/py-seed") as a, websockets.connect(PAGE + "/py-seed") as b:
            for p in (a, b):
                while "true" not in await asyncio.wait_for(p.recv(), 10):
                    pass
            api = urllib.request.urlopen(HTTP + "/api/devices/py-seed").read().decode()
            d = json.loads(api)
            assert d["online"] is True and "page_identity" not in d, api
            await a.send('["GET", "wifi", []]')
            got = await asyncio.wait_for(dev.recv(), 10)
            assert got == '["GET", "wifi", []]', "the device got %r" % got
            for m in ('{"info": "to all"}', '@x\nnot an address on the seed wire'):
                await dev.send(m)
                for p in (a, b):
                    got = await asyncio.wait_for(p.recv(), 10)
                    assert got == m, "a page got %r, want %r" % (got, m)
            await a.close()
            await b.send("after")
            got = await asyncio.wait_for(dev.recv(), 10)
            assert got == "after", "the device got %r after a page closed, want b's message" % got
    print("seed wire ok")

asyncio.run(main())
`

// TestSeedDeviceWithoutPageIdentity: a device that offers no page
// identity gets the seed's wire from the real hub.
func TestSeedDeviceWithoutPageIdentity(t *testing.T) {
	tethertest.NeedPython(t)
	h := startHub(t, 0)
	out := tethertest.RunPython(t, 60*time.Second, pySeedDevice, "ws://"+h.dev, "ws://"+h.page, "http://"+h.page)
	if !strings.Contains(out, "seed wire ok") {
		t.Fatalf("python said:\n%s", out)
	}
}
