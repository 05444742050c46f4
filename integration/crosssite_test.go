package integration

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// origins a page on another site would send, and whether the device's
// endpoint must let it through: only its own.
func crossOrigins(host string) []struct {
	origin string
	allow  bool
} {
	return []struct {
		origin string
		allow  bool
	}{
		{"http://evil.example", false},
		{"https://evil.example", false},
		{"null", false},
		{"http://127.0.0.1.evil.example", false},
		{"http://evil.example#127.0.0.1", false},
		{"http://127.0.0.1@evil.example", false},
		{"file://", false},
		{"http://" + host, true},
	}
}

// TestCrossSiteWebSocketHijacking: a page from another origin opens a
// WebSocket to the device's command API, the recovery command API and the
// hub's page endpoint. Each must refuse it with 403 before any command
// runs; the device's own origin is let through.
func TestCrossSiteWebSocketHijacking(t *testing.T) {
	d := startDevice(t, 0)
	rec := startRecovery(t)
	h := startHub(t, 0)
	targets := []struct{ name, addr, path string }{
		{"device command API", d.ws, "/"},
		{"device page port", d.http, "/"},
		{"recovery", rec.recovery, "/"},
		{"hub page endpoint", h.page, "/Device_1"},
	}
	for _, tg := range targets {
		for _, o := range crossOrigins(tg.addr) {
			t.Run(tg.name+"/"+o.origin, func(t *testing.T) {
				// With the device password: a credential does not let
				// another origin in (an open hub takes no notice of it).
				code, c := rawHandshake(t, tg.addr, tg.path, "Origin: "+o.origin, deviceAuth)
				if o.allow {
					if code != http.StatusSwitchingProtocols && tg.name != "device page port" {
						t.Fatalf("same-host origin %q: status %d, want 101", o.origin, code)
					}
					return
				}
				if code == http.StatusSwitchingProtocols {
					c.sendText(`["GET", "status", []]`)
					t.Fatalf("origin %q got a WebSocket to the %s", o.origin, tg.name)
				}
				if code != http.StatusForbidden && !(tg.name == "device page port" && code == http.StatusNotFound) {
					t.Fatalf("origin %q: status %d, want 403", o.origin, code)
				}
			})
		}
	}
	t.Run("device command API/DNS rebinding", func(t *testing.T) {
		// evil.example resolved to the device: Host and Origin agree.
		c, err := net.DialTimeout("tcp", d.ws, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: evil.example:"+port(d.ws)+"\r\nOrigin: http://evil.example:"+port(d.http)+
			"\r\n"+deviceAuth+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("rebound page: status %d, want 403", res.StatusCode)
		}
	})
	d.alive(t)
	h.alive(t)
}

// startRecovery runs a device whose app.json names an app this binary
// lacks, so it boots straight into recovery.
func startRecovery(t *testing.T) *device {
	t.Helper()
	d := startDevice(t, 0)
	d.proc.Cmd.Process.Kill()
	d.proc.Wait(10 * time.Second)
	b, err := os.ReadFile(filepath.Join(d.root, "app.json"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d.root, "app.json"), strings.Replace(string(b), `"app": "demo"`, `"app": "nosuchapp"`, 1))
	r := startDeviceRoot(t, d)
	return r
}

// TestCrossSiteRecoveryPosts: a page from another site posts to the
// recovery API (the way a form or fetch would) to overwrite a config file
// or restart the device. Each is refused with 403 and the file is left
// as it was; the same request from the recovery page's own origin works.
func TestCrossSiteRecoveryPosts(t *testing.T) {
	rec := startRecovery(t)
	appPath := filepath.Join(rec.root, "app.json")
	before, _ := os.ReadFile(appPath)
	good := strings.Replace(string(before), `"nosuchapp"`, `"demo"`, 1)
	base := "http://" + rec.recovery
	cases := []struct {
		name, path, ctype, body string
		hdr                     []string
	}{
		{"fetch JSON, Origin", "/api/config/app.json", "application/json", `{"text": "{}"}`, []string{"Origin", "http://evil.example"}},
		{"form, Origin", "/api/config/app.json", "application/x-www-form-urlencoded", "text=%7B%7D", []string{"Origin", "http://evil.example"}},
		{"text/plain, Origin", "/api/config/app.json", "text/plain", "{}", []string{"Origin", "http://evil.example"}},
		{"form, Sec-Fetch-Site", "/api/config/app.json", "application/x-www-form-urlencoded", "text=%7B%7D", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"}},
		{"restart, Origin", "/api/restart", "text/plain", "", []string{"Origin", "http://evil.example"}},
		{"restart, null Origin", "/api/restart", "text/plain", "", []string{"Origin", "null"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, base+c.path, c.ctype, c.body, c.hdr...)
			if code != http.StatusForbidden {
				t.Fatalf("cross-site POST %s: %d %q, want 403", c.path, code, body)
			}
			if after, _ := os.ReadFile(appPath); string(after) != string(before) {
				t.Fatalf("app.json changed by a refused request: %q", after)
			}
		})
	}
	t.Run("same origin", func(t *testing.T) {
		code, body := post(t, base+"/api/config/app.json", "text/plain", good, "Origin", base, "Sec-Fetch-Site", "same-origin")
		if code != http.StatusOK {
			t.Fatalf("same-origin save: %d %q", code, body)
		}
	})
	if rec.proc.Exited() {
		t.Fatalf("recovery exited:\n%s", rec.proc.Output())
	}
}

func post(t *testing.T, url, ctype, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	hdr = append(deviceAuthKV[:2:2], hdr...) // recovery's: the device password
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// 60 s: the first bcrypt check of a -race binary on a loaded machine
	// took over 15 s
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRecoveryDNSRebinding: a page of evil.example whose name now resolves
// to the device is "same origin" with recovery, so Origin checks pass; the
// Host it sends is what gives it away. Recovery refuses every request
// addressed to such a name (reading the config, saving it, restarting, its
// WebSocket) and keeps serving requests to its address.
func TestRecoveryDNSRebinding(t *testing.T) {
	rec := startRecovery(t)
	appPath := filepath.Join(rec.root, "app.json")
	before, _ := os.ReadFile(appPath)
	evil := "evil.example:" + port(rec.recovery)
	upgrade := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct{ name, req, want string }{
		{"page", "GET / HTTP/1.1\r\nHost: " + evil + "\r\n", "403"},
		{"status", "GET /api/status HTTP/1.1\r\nHost: " + evil + "\r\n", "403"},
		{"save", "POST /api/config/app.json HTTP/1.1\r\nHost: " + evil + "\r\nOrigin: http://" + evil + "\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", "403"},
		{"restart", "POST /api/restart HTTP/1.1\r\nHost: " + evil + "\r\nOrigin: http://" + evil + "\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 0\r\n", "403"},
		{"websocket", "GET / HTTP/1.1\r\nHost: " + evil + "\r\nOrigin: http://" + evil + "\r\n" + upgrade, "403"},
		{"trailing dot", "GET /api/status HTTP/1.1\r\nHost: evil.example.\r\n", "403"},
		{"by address", "GET /api/status HTTP/1.1\r\nHost: " + rec.recovery + "\r\n" + deviceAuth + "\r\n", "200"},
		{"by local name", "GET /api/status HTTP/1.1\r\nHost: tether-1.local\r\n" + deviceAuth + "\r\n", "200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			if !strings.HasSuffix(req, "{}") {
				req += "Connection: close\r\n\r\n"
			}
			got := rawHTTP(t, rec.recovery, []byte(req), 10*time.Second)
			if !strings.HasPrefix(got, "HTTP/1.1 "+c.want) {
				t.Fatalf("answered %.80q, want %s", got, c.want)
			}
		})
	}
	if after, _ := os.ReadFile(appPath); string(after) != string(before) {
		t.Fatalf("app.json changed: %q", after)
	}
	if rec.proc.Exited() {
		t.Fatalf("recovery exited:\n%s", rec.proc.Output())
	}
}
