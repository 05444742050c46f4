package hub

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postLogin posts the login form from the address local (nil: any) and
// returns the response, not following its redirect.
func postLogin(t *testing.T, h *testHub, local net.Addr, form url.Values, cookie string) *http.Response {
	t.Helper()
	c := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext},
	}
	req, _ := http.NewRequest("POST", h.httpURL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST /login: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// sessionOf returns the session cookie a login response set, as a Cookie header.
func sessionOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("login answered %d without a session cookie", resp.StatusCode)
	return ""
}

func TestLoginNextStaysOnTheHub(t *testing.T) {
	h := authHub(t)
	tests := []struct{ next, want string }{
		{"/d/dev1/", "/d/dev1/"},
		{"/api/devices?x=1", "/api/devices?x=1"},
		{`/\evil.example/`, "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"//evil.example/", "/"},
		{"//x", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
	}
	for _, tt := range tests {
		resp := postLogin(t, h, nil, url.Values{"token": {"page-secret"}, "next": {tt.next}}, "")
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tt.want {
			t.Errorf("next=%q: %d to %q, want 303 to %q", tt.next, resp.StatusCode, got, tt.want)
		}
		resp = postLogin(t, h, nil, url.Values{"token": {"wrong"}, "next": {tt.next}}, "")
		if got := resp.Header.Get("Location"); got != "/login?failed=1&next="+url.QueryEscape(tt.want) {
			t.Errorf("wrong token, next=%q: to %q, want the form with next=%q", tt.next, got, tt.want)
		}
	}
}

// TestSessionsAreRandomAndEndAtLogout: two logins in the same second get
// different cookies, and a cookie stops working when its session logs out.
func TestSessionsAreRandomAndEndAtLogout(t *testing.T) {
	h := authHub(t)
	form := url.Values{"token": {"page-secret"}}
	a := sessionOf(t, postLogin(t, h, nil, form, ""))
	b := sessionOf(t, postLogin(t, h, nil, form, ""))
	if a == b {
		t.Fatalf("two logins got the same cookie %s", a)
	}
	for _, c := range []string{a, b} {
		if code, _ := get(t, h.httpURL+"/api/devices", http.Header{"Cookie": {c}}); code != 200 {
			t.Fatalf("/api/devices with a fresh login's cookie: %d", code)
		}
	}
	req, _ := http.NewRequest("POST", h.httpURL+"/logout", nil)
	req.Header.Set("Cookie", a)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := get(t, h.httpURL+"/api/devices", http.Header{"Cookie": {a}}); code != 401 {
		t.Errorf("/api/devices with a logged-out cookie: %d, want 401", code)
	}
	if got := dialStatus(t, h.pageURL+"dev1", http.Header{"Cookie": {a}}); got != 401 {
		t.Errorf("page WebSocket with a logged-out cookie: %d, want 401", got)
	}
	if code, _ := get(t, h.httpURL+"/api/devices", http.Header{"Cookie": {b}}); code != 200 {
		t.Errorf("the other login's cookie after a logout: %d, want 200", code)
	}
}

// upgradeReply sends a device upgrade for id with token and returns the
// status line and body of the answer.
func upgradeReply(t *testing.T, h *testHub, id, token string) string {
	t.Helper()
	c, err := net.Dial("tcp", hostOf(h.devURL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /"+id+" HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer "+token+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("device upgrade: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return "HTTP/1.1 " + resp.Status + "|" + string(b)
}

// TestUnknownDeviceLooksLikeAWrongToken: whether or not an id is in the
// auth file, a wrong token gets the very same answer.
func TestUnknownDeviceLooksLikeAWrongToken(t *testing.T) {
	h := authHub(t)
	known, unknown := upgradeReply(t, h, "dev1", "guess"), upgradeReply(t, h, "nobody", "guess")
	if known != unknown || !strings.HasPrefix(known, "HTTP/1.1 401") {
		t.Errorf("wrong token for a known id: %q\nfor an unknown id: %q\nwant the same 401", known, unknown)
	}
	if n := counterValue(t, h, `tether_hub_auth_failures_total{endpoint="device",reason="unknown_device"}`); n != 1 {
		t.Errorf("unknown_device refusals counted %v, want 1 (the metric still tells them apart)", n)
	}
}

// TestWrongTokensAreThrottled: an address that sends more wrong tokens
// than the burst is refused with 429, even with a right token, until time
// passes; another address is not affected.
func TestWrongTokensAreThrottled(t *testing.T) {
	h := authHub(t)
	for i := range throttleBurst {
		if got := upgradeReply(t, h, "dev1", "guess"); !strings.HasPrefix(got, "HTTP/1.1 401") {
			t.Fatalf("wrong token %d: %q, want 401", i+1, got)
		}
	}
	if got := upgradeReply(t, h, "dev1", "dev1-secret"); !strings.HasPrefix(got, "HTTP/1.1 429") {
		t.Fatalf("the right token after %d wrong ones: %q, want 429", throttleBurst, got)
	}
	resp := postLogin(t, h, nil, url.Values{"token": {"page-secret"}}, "")
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?failed=wait") {
		t.Errorf("login from the throttled address went to %q, want the form with failed=wait", loc)
	}
	if code, _ := get(t, h.httpURL+"/api/devices", bearerHeader("page-secret")); code != http.StatusTooManyRequests {
		t.Errorf("/api/devices from the throttled address: %d, want 429", code)
	}
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	if resp := postLogin(t, h, other, url.Values{"token": {"page-secret"}}, ""); resp.Header.Get("Location") != "/" {
		t.Errorf("login from another address: to %q, want /", resp.Header.Get("Location"))
	}
	time.Sleep(throttleEvery) // one more attempt is allowed after this
	if got := upgradeReply(t, h, "dev1", "dev1-secret"); !strings.HasPrefix(got, "HTTP/1.1 101") {
		t.Errorf("the right token %v later: %q, want 101", throttleEvery, got)
	}
	if n := counterValue(t, h, `tether_hub_auth_failures_total{endpoint="device",reason="throttled"}`); n != 1 {
		t.Errorf("throttled device attempts counted %v, want 1", n)
	}
}
