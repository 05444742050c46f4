package natsbroker_test

import (
	"encoding/json"
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
	h := &hubProc{name: name}
	h.proc = tethertest.Start(t, "hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0", "--nats", natsURL, "--name", name)
	h.dev, h.page = h.proc.HubAddrs(20 * time.Second)
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

// wsClient is a device or page connection: tethertest's client with the
// message kinds these tests send and expect.
type wsClient struct {
	*tethertest.WS
	ws *websocket.Conn
}

func dialWS(t testing.TB, url string) *wsClient {
	t.Helper()
	c := tethertest.DialWS(t, url, tethertest.WSOptions{})
	c.Wait = 15 * time.Second // a cluster may take its time
	return &wsClient{WS: c, ws: c.Conn}
}

func (c *wsClient) send(typ websocket.MessageType, data string) {
	c.T().Helper()
	if typ == websocket.MessageBinary {
		c.SendBinary([]byte(data))
		return
	}
	c.Send(data)
}

// expect reads until a message of kind typ satisfies ok.
func (c *wsClient) expect(what string, typ websocket.MessageType, ok func(string) bool) string {
	c.T().Helper()
	return c.ExpectMessage(what, func(text bool, s string) bool { return text == (typ == websocket.MessageText) && ok(s) })
}

func (c *wsClient) expectText(want string) {
	c.T().Helper()
	c.expect(want, websocket.MessageText, func(s string) bool { return s == want })
}

func (c *wsClient) expectBinary(want string) {
	c.T().Helper()
	c.expect(fmt.Sprintf("binary %q", want), websocket.MessageBinary, func(s string) bool { return s == want })
}

// expectConnected waits for {"hub/device/connected": want}; it returns the reason.
func (c *wsClient) expectConnected(want bool) string {
	c.T().Helper()
	reason, _ := c.ExpectKey("hub/device/connected", want)["hub/device/reason"].(string)
	return reason
}

// closeStatus reads until the connection ends and returns its close code and reason.
func (c *wsClient) closeStatus() (websocket.StatusCode, string) {
	c.T().Helper()
	code, reason := c.CloseStatus()
	return websocket.StatusCode(code), reason
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}
