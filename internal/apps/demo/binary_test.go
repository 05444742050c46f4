package demo_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
	"tether/internal/wsconn"
)

// The real binary on a seed-format root: the page, traversals refused, the
// seed's flow and bad input from Python locally and through a Python home
// (which ignores the device's offer of page identity: the seed's wire),
// and SIGTERM closing clients with 1001.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and starts the tether binary")
	}
	tethertest.NeedPython(t)
	h, w, home := tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t)
	homeOut := make(chan string, 1)
	go func() {
		out, err := tethertest.TryPython(t, 60*time.Second, pyLib+`
async def main(port):
    done = asyncio.get_event_loop().create_future()
    async def handler(ws, path):
        if path == "/Device_1" and not done.done():
            # The device offers page identity; a home that does not know
            # it grants nothing and gets the seed's wire.
            offer = ws.request_headers.get("Sec-WebSocket-Protocol", "")
            if "tether.pages.v1" not in offer or ws.subprotocol is not None:
                done.set_result("offered %r, granted %r" % (offer, ws.subprotocol))
                return
            done.set_result(await demo_flow(ws))
    async with websockets.serve(handler, "127.0.0.1", port):
        print("home:", await asyncio.wait_for(done, 50), "through call-home")
asyncio.run(main(int(sys.argv[1])))
`, itoa(home))
		if err != nil {
			out += "\nerror: " + err.Error()
		}
		homeOut <- out
	}()
	root := tethertest.SeedRootApp(t, seedApp(h, w, home, ""))
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	base := "http://127.0.0.1:" + itoa(h)
	tethertest.WaitPort(t, "127.0.0.1:"+itoa(h), 30*time.Second)
	tethertest.WaitPort(t, "127.0.0.1:"+itoa(w), 10*time.Second)

	resp, err := tethertest.DeviceClient.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(string(page), `name="tether-ws-port" content="`+itoa(w)+`"`) {
		t.Fatalf("GET /: %d %q; page names WS port %d: %v", resp.StatusCode, resp.Header.Get("Content-Type"), w,
			strings.Contains(string(page), itoa(w)))
	}
	for _, target := range []string{"/../network.json", "/%2e%2e/app.json", "/network.json", "/app.json"} {
		if got := rawStatus(t, "127.0.0.1:"+itoa(h), target); !strings.HasPrefix(got, "HTTP/1.1 404") {
			t.Errorf("GET %s: %q, want 404", target, got)
		}
	}

	// The flow through call-home first: both drive the one fake interface,
	// and each expects to find it stopped.
	if ho := <-homeOut; !strings.Contains(ho, "home: flow ok through call-home") {
		t.Fatalf("home said:\n%s", ho)
	}
	out := tethertest.RunPython(t, 40*time.Second, pyLib+`
async def main(url):
    async with websockets.connect(url, extra_headers=`+tethertest.PythonAuth+`) as ws:
        print(await demo_flow(ws))
    async with websockets.connect(url, extra_headers=`+tethertest.PythonAuth+`) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        for bad in ["not json", "{}", "[1,2]", '["GET"]', '["CMD", "no_such_item", []]', '["GET", 5, "x"]', "\u00e9\u0000"]:
            await ws.send(bad)
            await recv_until(ws, lambda m: "error" in m, timeout=5)
        await ws.send(req("GET", "wifi"))
        await recv_until(ws, lambda m: "wifi/net/ip" in m)
        print("bad input answered, connection kept")
asyncio.run(main(sys.argv[1]))
`, "ws://127.0.0.1:"+itoa(w)+"/")
	if !strings.Contains(out, "flow ok") || !strings.Contains(out, "connection kept") {
		t.Fatalf("python said:\n%s", out)
	}

	// SIGTERM: a connected client is closed with 1001 and the device exits.
	c := tethertest.DialWS(t, "ws://127.0.0.1:"+itoa(w)+"/", tethertest.WSOptions{Header: tethertest.DeviceAuth()})
	if _, msg := c.Read(); !strings.Contains(msg, `"iam":"Device_1"`) {
		t.Fatalf("first message %s, want the state", msg)
	}
	p.Signal(syscall.SIGTERM)
	if code, reason := c.CloseStatus(); code != wsconn.StatusGoingAway {
		t.Errorf("client at SIGTERM: closed with %d %q, want 1001", code, reason)
	}
	if code := p.Wait(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: %d, want 0", code)
	}
}

// rawStatus sends a request line as is and returns the status line.
func rawStatus(t *testing.T, addr, target string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", target, tethertest.DevicePassword)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return strings.TrimSpace(line)
}
