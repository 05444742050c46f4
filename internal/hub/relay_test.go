package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/tethertest"
)

func TestRelayBothWaysAndFanOut(t *testing.T) {
	h := startHub(t, Options{})
	pages := []*tethertest.WS{dial(t, h.pageURL+"dev1", nil), dial(t, h.pageURL+"dev1", nil), dial(t, h.pageURL+"dev1", nil)}
	for _, p := range pages {
		p.Expect("offline notice", hasKey("hub/device/connected", false))
	}
	dev := dial(t, h.devURL+"dev1", nil)
	for _, p := range pages {
		p.Expect("online notice", hasKey("hub/device/connected", true))
	}
	tests := []struct {
		name   string
		binary bool
		data   string
	}{
		{"text", false, `{"fake_interface/msg": "HI"}`},
		{"binary", true, "\x00\x01\xff binary"},
		{"non-JSON text", false, "plain words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.binary {
				dev.SendBinary([]byte(tt.data))
			} else {
				dev.Send(tt.data)
			}
			for i, p := range pages {
				text, got := p.Read()
				if got != tt.data || text == tt.binary {
					t.Errorf("page %d got text=%v %q, want binary=%v %q", i, text, got, tt.binary, tt.data)
				}
			}
			if tt.binary {
				pages[1].SendBinary([]byte(tt.data))
			} else {
				pages[1].Send(tt.data)
			}
			text, got := dev.Read()
			if got != tt.data || text == tt.binary {
				t.Errorf("device got text=%v %q, want binary=%v %q", text, got, tt.binary, tt.data)
			}
		})
	}
}

func TestOfflineDeviceAnswersWithError(t *testing.T) {
	h := startHub(t, Options{})
	p := dial(t, h.pageURL+"ghost", nil)
	p.Send(`["GET", "wifi", []]`)
	got := p.Expect("error", hasKey("error", nil))
	if want := `{"error":"device ghost is not connected"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestPresenceReasons(t *testing.T) {
	h := startHub(t, Options{})
	p := dial(t, h.pageURL+"dev1", nil)
	p.Expect("offline notice", hasKey("hub/device/connected", false))

	dev := dial(t, h.devURL+"dev1", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
	dev.Conn.Close(websocket.StatusNormalClosure, "bye")
	got := p.Expect("offline after close", hasKey("hub/device/connected", false))
	if !strings.Contains(got, "closed by the device (1000 bye)") {
		t.Errorf("close reason: got %s", got)
	}

	old := dial(t, h.devURL+"dev1", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
	newer := dial(t, h.devURL+"dev1", nil)
	if code, reason := old.CloseStatus(); code != 4000 || reason != "replaced by a newer connection" {
		t.Errorf("replaced device closed with %d %q, want 4000 %q", code, reason, "replaced by a newer connection")
	}
	got = p.Expect("offline when replaced", hasKey("hub/device/connected", false))
	if !strings.Contains(got, "replaced by a newer connection") {
		t.Errorf("replace reason: got %s", got)
	}
	p.Expect("online again", hasKey("hub/device/connected", true))
	p.Send(`"after replace"`)
	newer.ExpectExact(`"after replace"`)
}

func TestKeepaliveClosesSilentDevice(t *testing.T) {
	h := startHub(t, Options{Ping: 50 * time.Millisecond})
	p := dial(t, h.pageURL+"quiet", nil)
	raw := rawConn(t, hostOf(h.devURL), "/quiet", 0) // never reads, never pongs
	defer raw.Close()
	p.Expect("online", hasKey("hub/device/connected", true))
	got := p.Expect("offline", hasKey("hub/device/connected", false))
	if !strings.Contains(got, "keepalive timeout") {
		t.Errorf("got %s, want reason keepalive timeout", got)
	}
}

func TestKeepaliveSparesAnsweringPeers(t *testing.T) {
	// generous: the client must answer within three intervals, on a busy machine
	h := startHub(t, Options{Ping: 300 * time.Millisecond})
	dev := dial(t, h.devURL+"alive", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dev.Conn.Read(ctx) // answers pings while reading
	time.Sleep(1500 * time.Millisecond)
	if _, ok := h.broker.Lookup("alive"); !ok {
		t.Fatal("a device answering pings was closed")
	}
}

func TestShadowGoesToNewPages(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	watcher := dial(t, h.pageURL+"dev1", nil)
	watcher.Expect("online", hasKey("hub/device/connected", true))
	for _, m := range []string{`{"a": 1, "s": "x"}`, `{"b": [2]}`, `not json`, `{"a": 3}`} {
		dev.Send(m)
		watcher.ExpectExact(m)
	}
	p := dial(t, h.pageURL+"dev1", nil)
	if _, got := p.Read(); !regexp.MustCompile(`^\{"hub/shadow/replayed":true,"hub/shadow/age":[0-9.]+,"hub/shadow/updated":"[^"]+","a":3,"b":\[2\],"s":"x"\}$`).MatchString(got) {
		t.Errorf("first message of a new page: got %s, want the shadow marked as replayed", got)
	}
	p.Expect("online", hasKey("hub/device/connected", true))
	code, body := get(t, h.httpURL+"/api/devices/dev1", nil)
	if code != 200 || !strings.Contains(body, `"shadow": {`) || !strings.Contains(body, `"a": 3`) {
		t.Errorf("/api/devices/dev1: %d %s", code, body)
	}
}

func TestStalledPageIsClosedAndOthersGetEverything(t *testing.T) {
	h := startHub(t, Options{Queue: 64, QueueBytes: 256 << 10})
	live := dial(t, h.pageURL+"dev1", nil)
	dev := dial(t, h.devURL+"dev1", nil)
	live.Expect("online", hasKey("hub/device/connected", true))
	stalled := rawConn(t, hostOf(h.pageURL), "/dev1", 4096)
	defer stalled.Close()
	waitFor(t, "two pages", func() bool { return len(h.pagesOf("dev1")) == 2 })

	const n = 2000
	blob := `{"blob": "` + strings.Repeat("x", 4000) + `"}`
	// The live page keeps up (at most 32 messages in flight); the
	// stalled one never reads.
	window := make(chan struct{}, 32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			window <- struct{}{}
			dev.Send(blob)
		}
	}()
	for i := 0; i < n; i++ {
		live.ExpectExact(blob)
		<-window
	}
	<-done
	waitFor(t, "stalled page closed", func() bool { return len(h.pagesOf("dev1")) == 1 })
	if got := counterValue(t, h, `tether_hub_slow_consumer_closes_total{role="page"}`); got != 1 {
		t.Errorf("slow consumer closes: got %v, want 1", got)
	}
}

func TestDeviceIDsAreChecked(t *testing.T) {
	h := startHub(t, Options{})
	tests := []struct {
		id   string
		want int
	}{
		{"Device_1", http.StatusSwitchingProtocols},
		{"TS001.a-b", http.StatusSwitchingProtocols},
		{"", http.StatusBadRequest},
		{".hidden", http.StatusBadRequest},
		{"a%20b", http.StatusBadRequest},
		{"a/b", http.StatusBadRequest},
		{"%C3%A9", http.StatusBadRequest},
		{strings.Repeat("x", 65), http.StatusBadRequest},
	}
	for _, tt := range tests {
		for _, base := range []string{h.devURL, h.pageURL} {
			t.Run(tt.id+"@"+base, func(t *testing.T) {
				if got := dialStatus(t, base+tt.id, nil); got != tt.want {
					t.Errorf("id %q: got %d, want %d", tt.id, got, tt.want)
				}
			})
		}
	}
}

func TestMessageLimits(t *testing.T) {
	h := startHub(t, Options{MaxMessage: 1000})
	tests := []struct {
		name string
		send func(c *tethertest.WS)
		code websocket.StatusCode
	}{
		{"too big", func(c *tethertest.WS) { c.Send(strings.Repeat("x", 1001)) }, websocket.StatusMessageTooBig},
		{"invalid UTF-8", func(c *tethertest.WS) { c.Send("bad \xff\xfe text") }, websocket.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, base := range []string{h.devURL, h.pageURL} {
				c := dial(t, base+"lim", nil)
				tt.send(c)
				if code, _ := c.CloseStatus(); code != int(tt.code) {
					t.Errorf("%s: closed with %d, want %d", base, code, tt.code)
				}
			}
		})
	}
	c := dial(t, h.devURL+"lim", nil)
	c.Send(strings.Repeat("x", 1000)) // at the limit: fine
	p := dial(t, h.pageURL+"lim", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
}

func TestShutdownClosesWith1001(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	p := dial(t, h.pageURL+"dev1", nil)
	p.Expect("online", hasKey("hub/device/connected", true))
	if err := h.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for name, c := range map[string]*tethertest.WS{"device": dev, "page": p} {
		if code, reason := c.CloseStatus(); code != int(websocket.StatusGoingAway) || reason != "hub shutting down" {
			t.Errorf("%s closed with %d %q, want 1001 %q", name, code, reason, "hub shutting down")
		}
	}
}

// rawConn opens a WebSocket on addr+path by hand and never reads from it;
// rcvbuf, when not zero, fixes the socket's receive buffer.
func rawConn(t *testing.T, addr, path string, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(status, " 101 ") {
		t.Fatalf("raw handshake: %q %v", status, err)
	}
	return c
}

// hostOf returns the host:port of a ws:// URL.
func hostOf(u string) string { return strings.Trim(strings.TrimPrefix(u, "ws://"), "/") }
