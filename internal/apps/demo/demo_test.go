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
