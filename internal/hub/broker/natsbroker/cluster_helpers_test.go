package natsbroker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/tethertest"
)

// hubProc is a real tether hub process clustered over NATS.
type hubProc struct {
	name      string
	dev, page string // host:port of the device and page endpoints
	proc      *tethertest.Proc
}

// startHub runs tether hub named name with --nats natsURL.
func startHub(t testing.TB, name, natsURL string) *hubProc {
	t.Helper()
	h := &hubProc{name: name,
		dev:  fmt.Sprintf("127.0.0.1:%d", tethertest.FreePort(t)),
		page: fmt.Sprintf("127.0.0.1:%d", tethertest.FreePort(t))}
	h.proc = tethertest.Start(t, "hub", "--device-addr", h.dev, "--page-addr", h.page, "--nats", natsURL, "--name", name)
	tethertest.WaitPort(t, h.dev, 20*time.Second)
	tethertest.WaitPort(t, h.page, 20*time.Second)
	return h
}

func (h *hubProc) device(t testing.TB, id string) *wsClient {
	return dialWS(t, "ws://"+h.dev+"/"+id)
}

func (h *hubProc) pageOf(t testing.TB, id string) *wsClient {
	return dialWS(t, "ws://"+h.page+"/"+id)
}

type deviceInfo struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
	Hub    string `json:"hub"`
}

// devices is the hub's /api/devices.
func (h *hubProc) devices(t testing.TB) []deviceInfo {
	t.Helper()
	resp, err := http.Get("http://" + h.page + "/api/devices")
	if err != nil {
		t.Fatalf("GET /api/devices on %s: %v", h.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ds []deviceInfo
	if err := json.Unmarshal(body, &ds); err != nil {
		t.Fatalf("GET /api/devices on %s: %v in %q", h.name, err, body)
	}
	return ds
}

// waitListed waits until the hub's /api/devices lists id online on hub holder.
func (h *hubProc) waitListed(t testing.TB, id, holder string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var ds []deviceInfo
	for time.Now().Before(deadline) {
		ds = h.devices(t)
		for _, d := range ds {
			if d.ID == id && d.Online && d.Hub == holder {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/api/devices on hub %s lacks %s online on hub %s: %+v", h.name, id, holder, ds)
}

// wsClient is a device or page connection.
type wsClient struct {
	t  testing.TB
	ws *websocket.Conn
}

func dialWS(t testing.TB, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &wsClient{t: t, ws: ws}
}

func (c *wsClient) send(typ websocket.MessageType, data string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, typ, []byte(data)); err != nil {
		c.t.Fatalf("send %q: %v", data, err)
	}
}

// expect reads until a message of kind typ satisfies ok, within 15 s.
func (c *wsClient) expect(what string, typ websocket.MessageType, ok func(string) bool) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var seen []string
	for {
		got, b, err := c.ws.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v; saw %.500q", what, err, seen)
		}
		if got == typ && ok(string(b)) {
			return string(b)
		}
		seen = append(seen, string(b))
	}
}

func (c *wsClient) expectText(want string) {
	c.t.Helper()
	c.expect(want, websocket.MessageText, func(s string) bool { return s == want })
}

func (c *wsClient) expectBinary(want string) {
	c.t.Helper()
	c.expect(fmt.Sprintf("binary %q", want), websocket.MessageBinary, func(s string) bool { return s == want })
}

// expectConnected waits for {"hub/device/connected": want}; it returns the reason.
func (c *wsClient) expectConnected(want bool) string {
	c.t.Helper()
	var reason string
	c.expect(fmt.Sprintf("hub/device/connected %v", want), websocket.MessageText, func(s string) bool {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil || m["hub/device/connected"] != want {
			return false
		}
		reason, _ = m["hub/device/reason"].(string)
		return true
	})
	return reason
}

// closeStatus reads until the connection ends and returns its close code and reason.
func (c *wsClient) closeStatus() (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		return -1, err.Error()
	}
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}
