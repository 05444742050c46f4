package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// accessAuth is an auth file with grants: a page token that may drive
// Device_1 only, one that may view every device, one for everything, and
// a user who may view Device_1 (password "alice-password", bcrypt cost 10).
const accessAuth = `{
  "devices": {"Device_1": {"token": "d1-secret"}, "Device_2": {"token": "d2-secret"}},
  "pages": [
    {"token": "d1-page", "name": "d1-driver", "grants": [{"devices": ["Device_1"], "verbs": ["drive"]}]},
    {"token": "viewer", "name": "viewer", "grants": [{"devices": ["*"], "verbs": ["view"]}]},
    {"token": "root", "name": "root"}
  ],
  "users": {"alice": {"password": "$2a$10$UoH7GZGacCrkzFr8oZeHqubuRAd6Y.nQ5c53Il1k9rfj8J4qXkFqG",
                      "grants": [{"devices": ["Device_1"], "verbs": ["view"]}]}}
}`

// metricValue reads one series from the hub's /metrics with token.
func (h *hubProc) metricValue(t *testing.T, token, series string) string {
	t.Helper()
	code, body := h.getAuth(t, "/metrics", token)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " (\\S+)$").FindStringSubmatch(body)
	if m == nil {
		return "absent"
	}
	return m[1]
}

// getAuth GETs path on the page port with a bearer token.
func (h *hubProc) getAuth(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", h.pagePort, path), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// login logs in on the dashboard's form and returns a client holding the
// session cookie.
func (h *hubProc) login(t *testing.T, form url.Values) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(fmt.Sprintf("http://127.0.0.1:%d/login", h.pagePort), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Contains(resp.Request.URL.String(), "failed") {
		t.Fatalf("login %v refused", form)
	}
	return c
}

func TestHubBinaryGrants(t *testing.T) {
	dir := t.TempDir()
	auth, auditLog := filepath.Join(dir, "auth.json"), filepath.Join(dir, "audit.log")
	os.WriteFile(auth, []byte(accessAuth), 0o600)
	h := startHubProc(t, "--auth", auth, "--audit-file", auditLog)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
def bearer(tok):
    return {"Authorization": "Bearer " + tok}

async def main():
    d1 = await websockets.connect(D + "Device_1", extra_headers=bearer("d1-secret"))
    d2 = await websockets.connect(D + "Device_2", extra_headers=bearer("d2-secret"))
    try:
        async with websockets.connect(P + "Device_2", extra_headers=bearer("d1-page")):
            raise SystemExit("FAIL: Device_1's page token opened Device_2")
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 403, e.status_code
    p1 = await websockets.connect(P + "Device_1", extra_headers=bearer("d1-page"))
    await expect(p1, has("hub/device/connected", True), "Device_1 online")
    await p1.send('["CMD", "restart", []]')
    r = await expect(p1, has("error"), "restart refused")
    assert "refused: CMD restart needs admin on Device_1" in r, r
    await p1.send('["GET", "wifi", []]')
    got = await asyncio.wait_for(d1.recv(), 5)
    assert got == '["GET", "wifi", []]', got
    v2 = await websockets.connect(P + "Device_2", extra_headers=bearer("viewer"))
    await expect(v2, has("hub/device/connected", True), "Device_2 online")
    await v2.send('["CMD", "send_message", ["hi"]]')
    r = await expect(v2, has("error"), "viewer refused")
    assert "needs drive on Device_2; viewer may only view it" in r, r
    await d2.send('{"temp": 21}')
    await expect(v2, lambda m: m == '{"temp": 21}', "viewer still receives")
    root = await websockets.connect(P + "Device_1", extra_headers=bearer("root"))
    await root.send('["CMD", "restart", []]')
    got = await asyncio.wait_for(d1.recv(), 5)
    assert got == '["CMD", "restart", []]', got
    drop(d1, d2, p1, v2, root)
    print("grants ok")
asyncio.run(main())
`, h.ports()...)
	if !strings.Contains(out, "grants ok") {
		t.Fatal(out)
	}
	for series, want := range map[string]string{
		`tether_hub_refused_messages_total{needs="admin"}`:                  "1",
		`tether_hub_refused_messages_total{needs="drive"}`:                  "1",
		`tether_hub_auth_failures_total{endpoint="page",reason="no_grant"}`: "1",
	} {
		if got := h.metricValue(t, "root", series); got != want {
			t.Errorf("%s = %s, want %s", series, got, want)
		}
	}
	if code, _ := h.getAuth(t, "/metrics", "viewer"); code != http.StatusForbidden {
		t.Errorf("/metrics with a view token: %d, want 403", code)
	}
	if !strings.Contains(h.Output(), "page token without grants may view, drive and administer every device") {
		t.Errorf("hub does not warn about the token without grants:\n%s", h.Output())
	}

	b, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct {
			Who, Device, Action string
			Allowed             bool
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %v", e.Who, e.Device, e.Action, e.Allowed))
	}
	if want := []string{"d1-driver Device_1 CMD restart false", "viewer Device_2 CMD send_message false", "root Device_1 CMD restart true"}; strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	alice := h.login(t, url.Values{"user": {"alice"}, "password": {"alice-password"}})
	resp, err := alice.Get(fmt.Sprintf("http://127.0.0.1:%d/api/devices", h.pagePort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var devs []struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&devs); err != nil || len(devs) != 1 || devs[0].ID != "Device_1" {
		t.Errorf("alice's /api/devices = %+v (%v), want Device_1 alone", devs, err)
	}
}

func TestHubBinaryRevokesWithinASecond(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(auth, []byte(accessAuth), 0o600)
	h := startHubProc(t, "--auth", auth)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
import os
AUTH = sys.argv[4]

def bearer(tok):
    return {"Authorization": "Bearer " + tok}

async def main():
    d1 = await websockets.connect(D + "Device_1", extra_headers=bearer("d1-secret"))
    pg = await websockets.connect(P + "Device_1", extra_headers=bearer("d1-page"))
    root = await websockets.connect(P + "Device_1", extra_headers=bearer("root"))
    await expect(pg, has("hub/device/connected", True), "online")
    text = open(AUTH).read().replace('"d1-page"', '"d1-page-new"')
    with open(AUTH + ".tmp", "w") as f:
        f.write(text)
    os.rename(AUTH + ".tmp", AUTH)
    changed = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(pg.recv(), 5)
    except websockets.ConnectionClosed as e:
        took = time.monotonic() - changed
        assert e.code == 4001 and e.reason == "credentials revoked", (e.code, e.reason)
        assert took < 1.0, "closed %.2f s after the change" % took
    await root.send('["GET", "wifi", []]')
    got = await asyncio.wait_for(d1.recv(), 5)
    assert got == '["GET", "wifi", []]', got
    drop(d1, root)
    print("revoked ok")
asyncio.run(main())
`, append(h.ports(), "ws", auth)...)
	if !strings.Contains(out, "revoked ok") {
		t.Fatal(out)
	}
	h.WaitOutput("auth file reloaded", 5*time.Second)
	if !strings.Contains(h.Output(), "closing connection: credentials revoked") {
		t.Errorf("hub log does not say why it closed the page:\n%s", h.Output())
	}
	h.Signal(syscall.SIGHUP)
	for end := time.Now().Add(5 * time.Second); strings.Count(h.Output(), "auth file reloaded") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no reload after SIGHUP:\n%s", h.Output())
		}
	}
}

// TestHubBinarySeedDeviceByRule: a seed-style device (Python websockets,
// as the seed's firmware: no headers, no token) joins a hub with --auth
// only through the rule its entry names.
func TestHubBinarySeedDeviceByRule(t *testing.T) {
	const alias = "Zq8vN3kT6pW1xR9mB4yL7c"
	auth := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(auth, []byte(`{"devices": {"ESP32_A": {"alias": "`+alias+`"}, "ESP32_L": {"cidr": ["127.0.0.0/8"]},
		"ESP32_F": {"cidr": ["192.0.2.0/24"]}, "Device_1": {"token": "d1"}}, "pages": [{"token": "root"}]}`), 0o600)
	h := startHubProc(t, "--auth", auth)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
ALIAS = sys.argv[4]

async def refused(path):
    try:
        async with websockets.connect(D + path):
            raise SystemExit("FAIL: /%s accepted without credentials" % path)
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 401, (path, e.status_code)

async def main():
    await refused("ESP32_A")   # its id: the rule is its alias
    await refused("ESP32_F")   # not from its address range
    await refused("Device_1")  # a token device
    a = await websockets.connect(D + ALIAS)
    l = await websockets.connect(D + "ESP32_L")
    pg = await websockets.connect(P + "ESP32_A", extra_headers={"Authorization": "Bearer root"})
    await expect(pg, has("hub/device/connected", True), "the alias device online under its id")
    await a.send('{"iam": "ESP32_A", "dev": "ESP32"}')
    await expect(pg, has("dev", "ESP32"), "its state")
    await pg.send('["GET", "wifi", []]')
    got = await asyncio.wait_for(a.recv(), 5)
    assert got == '["GET", "wifi", []]', got
    drop(a, l, pg)
    print("rules ok")
asyncio.run(main())
`, append(h.ports(), "ws", alias)...)
	if !strings.Contains(out, "rules ok") {
		t.Fatal(out)
	}
	log := h.Output()
	for _, want := range []string{"device may connect without credentials, by a weaker rule", "device=ESP32_A alias=true",
		"device=ESP32_L alias=false cidr=127.0.0.0/8", "device connected without credentials, by a weaker rule"} {
		if !strings.Contains(log, want) {
			t.Errorf("hub log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, alias) {
		t.Errorf("the hub logged the alias:\n%s", log)
	}
}

func TestHubBinaryConnectionLimits(t *testing.T) {
	h := startHubProc(t, "--device-conns-per-addr", "2", "--page-conns-per-addr", "1")
	dev := func(id string) (*tethertest.WS, int) {
		ws, resp, err := tethertest.TryDialWS(t, fmt.Sprintf("ws://127.0.0.1:%d/%s", h.devPort, id), tethertest.WSOptions{})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial %s: %v", id, err)
			}
			return nil, resp.StatusCode
		}
		return ws, 101
	}
	first, _ := dev("d1")
	dev("d2")
	if _, code := dev("d3"); code != http.StatusTooManyRequests {
		t.Fatalf("a third device from one address: %d, want 429", code)
	}
	first.Close()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, code := dev("d3"); code == 101 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("a closed device's place was not given back")
		}
	}
	tethertest.DialWS(t, fmt.Sprintf("ws://127.0.0.1:%d/d1", h.pagePort), tethertest.WSOptions{})
	if _, resp, err := tethertest.TryDialWS(t, fmt.Sprintf("ws://127.0.0.1:%d/d2", h.pagePort), tethertest.WSOptions{}); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second page from one address: %v, want 429", err)
	}
	if got := h.metricValue(t, "", `tether_hub_address_limit_refusals_total{endpoint="page"}`); got != "1" {
		t.Errorf("page refusals counted %s, want 1", got)
	}
}
