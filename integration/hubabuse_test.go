package integration

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hubAuth is the auth file of the hubs in these tests.
const hubAuth = `{"devices": {"Device_1": {"token": "dev-secret"}}, "pages": [{"token": "page-secret"}]}`

// startAuthHub runs tether hub with hubAuth and extra flags.
func startAuthHub(t *testing.T, extra ...string) *hub {
	t.Helper()
	auth := filepath.Join(t.TempDir(), "auth.json")
	write(t, auth, hubAuth)
	return startHub(t, 0, append([]string{"--auth", auth}, extra...)...)
}

// aliveAuth is hub.alive with the tokens of hubAuth.
func (h *hub) aliveAuth(t *testing.T) {
	t.Helper()
	d := dialRaw(t, h.dev, "/Device_1", "Authorization: Bearer dev-secret")
	defer d.c.Close()
	p := dialRaw(t, h.page, "/Device_1", "Authorization: Bearer page-secret")
	defer p.c.Close()
	p.waitText(`"hub/device/connected": true`, 10*time.Second)
	p.sendText(`["GET", "x", []]`)
	d.waitText(`["GET", "x", []]`, 10*time.Second)
}

// slowBody sends head, a request (announcing an 8,000-byte body when it
// says "Content-Length: 8000"), then one byte every period, until the
// server ends the connection or limit passes. It returns how long the server took to end it and its
// response, status line, headers and body ("" when there was none).
func slowBody(t *testing.T, addr, head string, period, limit time.Duration) (time.Duration, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte(head + "\r\n")); err != nil {
		t.Fatalf("write request: %v", err)
	}
	ended := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, 1<<20)) // to EOF, when the server closes
		ended <- string(b)
	}()
	tick := time.NewTicker(period)
	defer tick.Stop()
	deadline := time.After(limit)
	for {
		select {
		case resp := <-ended:
			return time.Since(start), resp
		case <-tick.C:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("x"))
		case <-deadline:
			return time.Since(start), "still open"
		}
	}
}

// TestHubSlowBodiesAndRefusals: a request body dribbled a byte every 5 s
// never holds a connection of either port, and an upgrade the hub refuses
// (401, 403, 400) is answered with "Connection: close" and the connection
// ended at once, body or not, instead of after the 60 s idle timeout.
func TestHubSlowBodiesAndRefusals(t *testing.T) {
	h := startAuthHub(t)
	const body = "Content-Length: 8000\r\n"
	upgrade := func(addr, path string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + strings.Join(extra, "")
	}
	tests := []struct {
		name, addr, head string
		status           string // start of the response wanted
		within           time.Duration
	}{
		{"login form", h.page, "POST /login HTTP/1.1\r\nHost: " + h.page + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" + body,
			"HTTP/1.1 400", 20 * time.Second},
		{"device with a wrong token, no body", h.dev, upgrade(h.dev, "/Device_1", "Authorization: Bearer wrong\r\n"), "HTTP/1.1 401", 3 * time.Second},
		{"device with a wrong token", h.dev, upgrade(h.dev, "/Device_1", "Authorization: Bearer wrong\r\n", body), "HTTP/1.1 401", 3 * time.Second},
		{"device not in the auth file", h.dev, upgrade(h.dev, "/Device_2", "Authorization: Bearer wrong\r\n", body), "HTTP/1.1 401", 3 * time.Second},
		{"device without a token", h.dev, upgrade(h.dev, "/Device_1", body), "HTTP/1.1 401", 3 * time.Second},
		{"device with a bad id", h.dev, upgrade(h.dev, "/a%2Fb", body), "HTTP/1.1 400", 3 * time.Second},
		{"plain request on the device port", h.dev, "POST /Device_1 HTTP/1.1\r\nHost: " + h.dev + "\r\n" + body, "HTTP/1.1 400", 3 * time.Second},
		{"page without a token", h.page, upgrade(h.page, "/Device_1", body), "HTTP/1.1 401", 3 * time.Second},
		{"page from another origin", h.page, upgrade(h.page, "/Device_1", "Origin: http://evil.example\r\n", "Authorization: Bearer page-secret\r\n", body), "HTTP/1.1 403", 3 * time.Second},
		{"device of another WebSocket version", h.dev, strings.Replace(upgrade(h.dev, "/Device_1", "Authorization: Bearer dev-secret\r\n"), "Version: 13", "Version: 99", 1), "HTTP/1.1 426", 3 * time.Second},
		{"page upgrade without a key", h.page, strings.Replace(upgrade(h.page, "/Device_1", "Authorization: Bearer page-secret\r\n"), "Sec-WebSocket-Key", "X-Key", 1), "HTTP/1.1 400", 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			took, resp := slowBody(t, tt.addr, tt.head, 5*time.Second, 40*time.Second)
			if took > tt.within {
				t.Errorf("connection ended after %v (%q), want within %v", took.Round(time.Millisecond), firstLine(resp), tt.within)
			}
			if !strings.HasPrefix(resp, tt.status) {
				t.Errorf("response %q, want %q", firstLine(resp), tt.status)
			}
			if !strings.Contains(strings.ToLower(resp), "\nconnection: close") {
				t.Errorf("refusal without Connection: close:\n%s", resp)
			}
			// the whole response, its body saying why, arrives before the end
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(resp)), nil)
			if err == nil {
				var b []byte
				if b, err = io.ReadAll(res.Body); err == nil && len(b) == 0 {
					err = errors.New("no body")
				}
			}
			if err != nil {
				t.Errorf("refusal cut short: %v:\n%s", err, resp)
			}
			t.Logf("ended after %v: %q", took.Round(time.Millisecond), firstLine(resp))
		})
	}
	t.Cleanup(func() { h.aliveAuth(t) })
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }
