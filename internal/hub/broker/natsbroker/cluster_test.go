package natsbroker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/hub/broker/natsbroker/natstest"
	"tether/internal/tethertest"
)

// These tests run real tether hub processes clustered over an embedded
// NATS server and talk to them as devices and pages do.

func TestClusterRelayAndPresence(t *testing.T) {
	ns := natstest.Start(t)
	hubs := []*hubProc{startHub(t, "A", ns.URL()), startHub(t, "B", ns.URL()), startHub(t, "C", ns.URL())}
	a, b, c := hubs[0], hubs[1], hubs[2]

	early := b.pageOf(t, "d1") // before the device: told it is not connected
	early.expectConnected(false)
	dev := a.device(t, "d1")
	early.expectConnected(true)
	for _, h := range hubs {
		h.waitListed(t, "d1", "A")
	}
	pages := []*wsClient{early, a.pageOf(t, "d1"), c.pageOf(t, "d1")}
	for _, p := range pages[1:] {
		p.expectConnected(true)
	}

	for i, p := range pages {
		text := fmt.Sprintf(`["GET", "item", [%d]]`, i)
		p.send(websocket.MessageText, text)
		dev.expectText(text)
		bin := string([]byte{0, byte(i), 0xff})
		p.send(websocket.MessageBinary, bin)
		dev.expectBinary(bin)
	}
	dev.send(websocket.MessageText, `{"wifi/net/ip": "10.0.0.9"}`)
	dev.send(websocket.MessageBinary, "\x00\x01raw")
	for _, p := range pages {
		p.expectText(`{"wifi/net/ip": "10.0.0.9"}`)
		p.expectBinary("\x00\x01raw")
	}

	// A page joining on C later gets the shadow held on A.
	late := c.pageOf(t, "d1")
	late.expect("shadow from hub A", websocket.MessageText, contains(`"wifi/net/ip":"10.0.0.9"`))

	// The other way round: a device on C, a page on A.
	dev2 := c.device(t, "d2")
	a.waitListed(t, "d2", "C")
	p2 := a.pageOf(t, "d2")
	p2.send(websocket.MessageText, "to d2")
	dev2.expectText("to d2")
	dev2.send(websocket.MessageText, "from d2")
	p2.expectText("from d2")

	dev.ws.Close(websocket.StatusNormalClosure, "bye")
	for _, p := range pages {
		if reason := p.expectConnected(false); !strings.Contains(reason, "closed by the device") {
			t.Errorf("reason %q, want closed by the device", reason)
		}
	}
	pages[1].send(websocket.MessageText, "anyone?")
	pages[1].expect("not connected error", websocket.MessageText, contains("is not connected"))
}

func TestClusterDuplicateIDTakeover(t *testing.T) {
	ns := natstest.Start(t)
	a, b := startHub(t, "A", ns.URL()), startHub(t, "B", ns.URL())
	old := a.device(t, "dup")
	b.waitListed(t, "dup", "A")
	pageA := a.pageOf(t, "dup")
	pageA.expectConnected(true)

	cur := b.device(t, "dup")
	code, reason := old.closeStatus()
	if code != 4000 || !strings.Contains(reason, "hub B") {
		t.Fatalf("old connection closed with %d %q, want 4000 replaced by hub B", code, reason)
	}
	for _, h := range []*hubProc{a, b} {
		h.waitListed(t, "dup", "B")
	}
	pageA.send(websocket.MessageText, "to the new one")
	cur.expectText("to the new one")
	cur.send(websocket.MessageText, "from the new one")
	pageA.expectText("from the new one")
}

func TestClusterNATSRestart(t *testing.T) {
	ns := natstest.Start(t)
	a, b := startHub(t, "A", ns.URL()), startHub(t, "B", ns.URL())
	dev := a.device(t, "r1")
	b.waitListed(t, "r1", "A")
	remote := b.pageOf(t, "r1")
	remote.expectConnected(true)
	local := a.pageOf(t, "r1")
	local.expectConnected(true)

	ns.Shutdown()
	if reason := remote.expectConnected(false); !strings.Contains(reason, "unreachable") {
		t.Fatalf("page on B: reason %q, want unreachable", reason)
	}
	remote.send(websocket.MessageText, "lost?")
	remote.expect("unreachable error", websocket.MessageText, contains("NATS connection is down"))
	// Hub A keeps serving its own device and page.
	local.send(websocket.MessageText, "local still works")
	dev.expectText("local still works")
	dev.send(websocket.MessageText, "device still works")
	local.expectText("device still works")

	ns.Restart()
	remote.expectConnected(true)
	b.waitListed(t, "r1", "A")
	remote.send(websocket.MessageText, "back")
	dev.expectText("back")
	waitSent(t, dev, remote, "welcome back")

	// Hub A dies without a word: hub B forgets its devices after three
	// missed heartbeats and tells its pages.
	if err := a.proc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if reason := remote.expectConnected(false); !strings.Contains(reason, "hub A unreachable") {
		t.Fatalf("page on B after hub A died: reason %q, want hub A unreachable", reason)
	}
	for _, d := range b.devices(t) {
		if d.ID == "r1" && d.Online {
			t.Fatalf("/api/devices on B still lists r1 online after hub A died: %+v", d)
		}
	}
}

func TestClusterTwoNATSServers(t *testing.T) {
	ns := natstest.Cluster(t, 2)
	a := startHub(t, "A", ns[0].URL())
	b := startHub(t, "B", ns[1].URL())
	both := startHub(t, "C", ns[1].URL()+","+ns[0].URL())
	dev := a.device(t, "x")
	for _, h := range []*hubProc{a, b, both} {
		h.waitListed(t, "x", "A")
	}
	for _, h := range []*hubProc{b, both} {
		p := h.pageOf(t, "x")
		p.expectConnected(true)
		p.send(websocket.MessageText, "hi from "+h.name)
		dev.expectText("hi from " + h.name)
		dev.send(websocket.MessageBinary, "\x01to "+h.name)
		p.expectBinary("\x01to " + h.name)
	}
}

func TestClusterRelayFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	ns := natstest.Start(t)
	a, b := startHub(t, "A", ns.URL()), startHub(t, "B", ns.URL())
	const script = `
import asyncio, sys, websockets
async def main():
    dev = await websockets.connect("ws://%s/py" % sys.argv[1])
    await asyncio.sleep(0.5)
    pg = await websockets.connect("ws://%s/py" % sys.argv[2])
    await pg.send(b"\x00\x01binary")
    got = await asyncio.wait_for(dev.recv(), 10)
    assert got == b"\x00\x01binary", got
    await dev.send("text from device")
    while True:
        m = await asyncio.wait_for(pg.recv(), 10)
        if m == "text from device":
            break
    await pg.close()
    await dev.close()
    print("ok")
asyncio.run(main())
`
	out := tethertest.RunPython(t, 30*time.Second, script, a.dev, b.page)
	if !strings.Contains(out, "ok") {
		t.Fatalf("python: %s", out)
	}
}
