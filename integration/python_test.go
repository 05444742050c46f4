package integration

import (
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// pyHubAbuse is a device and a page in Python's websockets (the seed's
// host library) abusing the hub in the ways a library allows: oversized
// text and binary, invalid UTF-8, a flood of small messages, a page that
// sends to its device in fragments; each gets its close code or is
// relayed, and a fresh pair still works.
const pyHubAbuse = `
import asyncio, sys, websockets
DEV, PAGE = sys.argv[1], sys.argv[2]
OP_TEXT = 0x1

async def closed_with(url, send, want):
    async with websockets.connect(url, max_size=2**24) as ws:
        try:
            await send(ws)  # the hub may close while a big message is still going out
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else e.code
            assert code == want, "%s: closed with %s, want %s" % (url, code, want)

async def main():
    for base in (DEV, PAGE):
        await closed_with(base + "/py-big", lambda ws: ws.send("x" * (1 << 20)), 1009)
        await closed_with(base + "/py-bigbin", lambda ws: ws.send(b"\x00" * (1 << 20)), 1009)
        await closed_with(base + "/py-utf8", lambda ws: ws.write_frame(True, OP_TEXT, b"\xff\xfe"), 1007)
    async with websockets.connect(DEV + "/py-pair") as dev, websockets.connect(PAGE + "/py-pair") as page:
        while "true" not in await asyncio.wait_for(page.recv(), 10):
            pass
        await page.send(["[\"CMD\", ", "\"send_message\", ", "[\"hi\"]]"])  # one message in three frames
        assert await asyncio.wait_for(dev.recv(), 10) == '["CMD", "send_message", ["hi"]]'
        for i in range(2000):
            await dev.send("n%d" % i)
        for i in range(2000):
            m = await asyncio.wait_for(page.recv(), 10)
            assert m == "n%d" % i, "message %d came as %r" % (i, m)
    print("python: 1009 text and binary, 1007, fragments relayed whole, 2000 in order")

asyncio.run(main())
`

func TestHubAbuseFromPython(t *testing.T) {
	tethertest.NeedPython(t)
	h := startHub(t, 0)
	out := tethertest.RunPython(t, 90*time.Second, pyHubAbuse, "ws://"+h.dev, "ws://"+h.page)
	if !strings.Contains(out, "2000 in order") {
		t.Fatalf("python said %q", out)
	}
	h.alive(t)
}
