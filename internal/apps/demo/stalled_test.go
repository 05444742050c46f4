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
)

// A client that never reads (a raw socket with a tiny receive buffer) does
// not delay another: the live client completes its round trips while the
// broadcasts pile up for the stalled one, which the device then closes.
func TestStalledClientDoesNotDelayAnother(t *testing.T) {
	t.Parallel()
	tethertest.NeedPython(t)
	p := tethertest.FreePort(t)
	r := start(t, seedApp(p, p, 0, ""))
	stalled := stalledPeer(t, r.addrs["ws"])
	defer stalled.Close()
	began := time.Now()
	out := tethertest.RunPython(t, 60*time.Second, pyLib+`
async def main(url):
    async with websockets.connect(url) as ws:
        await recv_until(ws, lambda m: "iam" in m)
        await ws.send(req("CMD", "start_interface"))
        await recv_until(ws, lambda m: m.get("fake_interface/running") is True)
        blob = "x" * 40000  # 300 x 40 KB: more than socket buffers and the queue hold
        for i in range(300):
            await ws.send(req("CMD", "send_message", "%d %s" % (i, blob)))
            got = await recv_until(ws, lambda m: "fake_interface/msg" in m)
            assert got["fake_interface/msg"].startswith("%d X" % i), got["fake_interface/msg"][:20]
        print("live client: 300 round trips done")
asyncio.run(main(sys.argv[1]))
`, r.wsURL())
	if !strings.Contains(out, "300 round trips done") {
		t.Fatalf("python said:\n%s", out)
	}
	t.Logf("live client done after %v", time.Since(began))
	// The stalled client was closed: draining its socket reaches the end.
	stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, stalled)
	t.Logf("stalled client closed after %v, %d bytes", time.Since(began), n)
	if err != nil {
		t.Fatalf("stalled client not closed by the device: read %d bytes, then %v", n, err)
	}
}

// stalledPeer completes a WebSocket handshake on a socket with a tiny
// receive buffer and then never reads.
func stalledPeer(t *testing.T, hostport string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return err
	}}
	c, err := d.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", hostport)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 101 ") {
		t.Fatalf("handshake: %q %v", line, err)
	}
	return c
}
