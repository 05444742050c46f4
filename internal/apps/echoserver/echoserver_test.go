package echoserver_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/apps/echoserver"
	"tether/internal/tethertest"
)

// start serves an echo server on a free port until the test ends and
// returns its ws:// URL and a function that stops it and waits.
func start(t testing.TB, opts echoserver.Options) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- echoserver.New(opts).Serve(ctx, ln) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10 s after its context ended")
		}
		done <- nil
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "ws://" + ln.Addr().String() + "/any/path", stop
}

func dial(t testing.TB, url string) *websocket.Conn {
	return tethertest.DialWS(t, url, tethertest.WSOptions{}).Conn
}

func TestEcho(t *testing.T) {
	url, _ := start(t, echoserver.Options{})
	tests := []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{"text", websocket.MessageText, []byte("hello tether")},
		{"empty text", websocket.MessageText, nil},
		{"binary", websocket.MessageBinary, []byte{0, 1, 2, 0xff, 0xfe}},
		{"unicode text", websocket.MessageText, []byte("grüße ✓")},
		{"1 MiB text", websocket.MessageText, bytes.Repeat([]byte("x"), 1<<20)},
		{"1 MiB binary", websocket.MessageBinary, bytes.Repeat([]byte{7}, 1<<20)},
	}
	c := dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 { // the buffer is reused: echo each twice more
				if err := c.Write(ctx, tt.typ, tt.data); err != nil {
					t.Fatalf("write: %v", err)
				}
				typ, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if typ != tt.typ || !bytes.Equal(got, tt.data) {
					t.Fatalf("echo: got %v with %d bytes, want %v with %d bytes", typ, len(got), tt.typ, len(tt.data))
				}
			}
		})
	}
}

func TestCloses(t *testing.T) {
	tests := []struct {
		name string
		max  int64
		typ  websocket.MessageType
		data []byte
		want websocket.StatusCode
	}{
		{"over default limit", 0, websocket.MessageBinary, make([]byte, 1<<20+1), websocket.StatusMessageTooBig},
		{"over configured limit", 1000, websocket.MessageText, bytes.Repeat([]byte("y"), 1001), websocket.StatusMessageTooBig},
		{"invalid UTF-8", 0, websocket.MessageText, []byte{'a', 0xff, 0xfe}, websocket.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := start(t, echoserver.Options{MaxMessage: tt.max})
			c := dial(t, url)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Write(ctx, tt.typ, tt.data); err != nil {
				t.Fatalf("write: %v", err)
			}
			_, _, err := c.Read(ctx)
			if got := websocket.CloseStatus(err); got != tt.want {
				t.Fatalf("close: got %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestShutdownClosesClientsWith1001(t *testing.T) {
	url, stop := start(t, echoserver.Options{})
	var conns []*websocket.Conn
	for range 5 {
		conns = append(conns, dial(t, url))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range conns { // make sure each is served before stopping
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, len(conns))
	for _, c := range conns {
		go func() { _, _, err := c.Read(ctx); errs <- err }()
	}
	stop()
	for range conns {
		if got := websocket.CloseStatus(<-errs); got != websocket.StatusGoingAway {
			t.Errorf("close on shutdown: got %v, want 1001", got)
		}
	}
}

// TestPythonClient echoes for Python's websockets, the seed's host library.
func TestPythonClient(t *testing.T) {
	tethertest.NeedPython(t)
	url, _ := start(t, echoserver.Options{})
	out := tethertest.RunPython(t, 60*time.Second, pyEcho, url)
	if !strings.Contains(out, "echo ok") {
		t.Fatalf("python: %s", out)
	}
}

const pyEcho = `
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url, ping_interval=1, max_size=2**22) as ws:
        for m in ["hello", b"\x00\x01bin", "x" * (1 << 20), b"y" * (1 << 20)]:
            await ws.send(m)
            r = await asyncio.wait_for(ws.recv(), 10)
            assert r == m, "echo of %d bytes came back as %d" % (len(m), len(r))
        pong = await ws.ping()
        await asyncio.wait_for(pong, 5)
        await ws.send("z" * ((1 << 20) + 1))
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise SystemExit("FAIL: oversized message was echoed")
        except websockets.ConnectionClosed as e:
            assert e.code == 1009, "close code %r" % e.code
    print("echo ok")
asyncio.run(main(sys.argv[1]))
`
