package process_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// echoApp is a Python program (with tetherapp.py) that uses the entry's
// serial driver "uart" through tether: CMD shout [text] sends the text to
// the port; what the port answers it hears (uart/line) and publishes as
// shout/last; the outcome of a driver line that fails is its shout/msg.
const echoApp = `import tetherapp
app = tetherapp.App()
app.key("shout/last", "the last line the port sent")
app.hear("uart")

def on_driver(msg):
    if "uart/line" in msg:
        app.state({"shout/last": msg["uart/line"]})
    elif "error" in msg:
        app.broadcast({"shout/msg": msg["error"]})
app.on_driver = on_driver

@app.cmd("shout", "text:string", "driver:string?", doc="sends text to a serial driver (uart when left out)")
def shout(req):
    app.driver(req.args[1] if len(req.args) > 1 else "uart", "send", req.args[0])

app.run()
`

// A process app uses the drivers its entry declares through tether: it
// sends to a serial port (a real pseudo-terminal whose far end
// upper-cases each line) and hears what the port answers, which the
// clients see too; a driver it names that does not exist is answered with
// an error line.
func TestProgramUsesDriversThroughTether(t *testing.T) {
	t.Parallel()
	tethertest.NeedPython(t)
	peer := tethertest.NewSerialPeer(t)
	helper, err := os.ReadFile(filepath.Join(tethertest.ProjectRoot(t), "tetherapp", "tetherapp.py"))
	if err != nil {
		t.Fatal(err)
	}
	root := writeRoot(t, `{"exec": ["`+tethertest.Python+`", "app/main.py"], `+page+`,
		"drivers": {"uart": {"kind": "serial", "port": "`+peer.Path+`", "baud": 115200, "start": true}}}`,
		map[string]string{"app/main.py": echoApp, "app/tetherapp.py": string(helper)})
	_, addr := device(t, root)
	out := tethertest.RunPython(t, 60*time.Second, tethertest.PyLib+`
async def main(url):
    async with websockets.connect(url, extra_headers=DEVICE_AUTH) as ws:
        await recv_until(ws, lambda m: str(m.get("uart/status", "")).startswith("open"))
        await ws.send(req("CMD", "shout", "hello port"))
        await recv_until(ws, lambda m: m.get("uart/line") == "HELLO PORT")
        await recv_until(ws, lambda m: m.get("shout/last") == "HELLO PORT")
        await ws.send(req("CMD", "shout", "x", "nosuch"))
        e = (await recv_until(ws, lambda m: "shout/msg" in m))["shout/msg"]
        assert 'no driver "nosuch"' in e, e
    print("drivers through tether ok")
asyncio.run(main(sys.argv[1]))
`, "ws://"+addr+"/")
	if !strings.Contains(out, "drivers through tether ok") {
		t.Fatalf("python said:\n%s", out)
	}
	if got := peer.Received(); len(got) == 0 || got[len(got)-1] != "hello port" {
		t.Errorf("the port received %q, want the program's line last", got)
	}
}
