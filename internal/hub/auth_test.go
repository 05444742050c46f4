package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func authHub(t *testing.T) *testHub {
	t.Helper()
	a, err := ParseAuth([]byte(`{"devices": {"dev1": {"token": "dev1-secret"}, "dev2": {"token": "`+sha("dev2-secret")+`"}},
		"pages": [{"token": "page-secret"}, {"token": "`+sha("page2-secret")+`"}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a})
	h.pageToken = "page-secret"
	return h
}

func TestAuthDevicesAndPages(t *testing.T) {
	h := authHub(t)
	tests := []struct {
		name string
		url  string
		hdr  http.Header
		want int
	}{
		{"device without token", h.devURL + "dev1", nil, 401},
		{"device with wrong token", h.devURL + "dev1", bearerHeader("nope"), 401},
		{"device with another's token", h.devURL + "dev2", bearerHeader("dev1-secret"), 401},
		{"device not in the file", h.devURL + "dev3", bearerHeader("dev1-secret"), 401},
		{"device with its token", h.devURL + "dev1", bearerHeader("dev1-secret"), 101},
		{"device with its hashed token", h.devURL + "dev2", bearerHeader("dev2-secret"), 101},
		{"device sending the hash itself", h.devURL + "dev2", bearerHeader(sha("dev2-secret")), 401},
		{"page without token", h.pageURL + "dev1", nil, 401},
		{"page with a device token", h.pageURL + "dev1", bearerHeader("dev1-secret"), 401},
		{"page with its token", h.pageURL + "dev1", bearerHeader("page-secret"), 101},
		{"page with a hashed token", h.pageURL + "dev1", bearerHeader("page2-secret"), 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialStatus(t, tt.url, tt.hdr); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
	if got := counterValue(t, h, `tether_hub_auth_failures_total{endpoint="device",reason="bad_credentials"}`); got != 3 {
		t.Errorf("device bad credential failures: got %v, want 3", got)
	}
	for _, path := range []string{"/api/devices", "/metrics", "/api/devices/dev1"} {
		if code, _ := get(t, h.httpURL+path, nil); code != 401 {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
		if code, _ := get(t, h.httpURL+path, bearerHeader("page-secret")); code != 200 {
			t.Errorf("GET %s with a page token: %d, want 200", path, code)
		}
	}
	if code, _ := get(t, h.httpURL+"/healthz", nil); code != 200 {
		t.Errorf("/healthz needs no token: got %d", code)
	}
}

func TestDashboardLoginSetsCookie(t *testing.T) {
	h := authHub(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(h.httpURL+"/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.String(), "failed=1") {
		t.Errorf("a wrong token landed on %s, want the login form with failed=1", resp.Request.URL)
	}
	resp, err = c.PostForm(h.httpURL+"/login", url.Values{"token": {"page-secret"}, "next": {"/api/devices"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/api/devices" {
		t.Fatalf("after login: %d at %s, want 200 at /api/devices", resp.StatusCode, resp.Request.URL)
	}
	u, _ := url.Parse(h.httpURL)
	hdr := http.Header{}
	for _, ck := range jar.Cookies(u) {
		hdr.Add("Cookie", ck.String())
	}
	if got := dialStatus(t, h.pageURL+"dev1", hdr); got != 101 {
		t.Errorf("page WebSocket with the login cookie: got %d, want 101", got)
	}
	if got := dialStatus(t, h.pageURL+"dev1", http.Header{"Cookie": {"tether_session=1999999999.forged"}}); got != 401 {
		t.Errorf("page WebSocket with a forged cookie: got %d, want 401", got)
	}
}

func TestOriginCheck(t *testing.T) {
	h := startHub(t, Options{OriginPatterns: []string{"*.example.com"}})
	host := strings.TrimPrefix(h.httpURL, "http://")
	tests := []struct {
		origin string
		want   int
	}{
		{"", 101},
		{"http://" + host, 101},
		{"https://dash.example.com", 101},
		{"https://evil.example.org", 403},
		{"null", 403},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			if got := dialStatus(t, h.pageURL+"dev1", hdr); got != tt.want {
				t.Errorf("Origin %q: got %d, want %d", tt.origin, got, tt.want)
			}
		})
	}
}

func TestParseAuthErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"devices": {"bad id": {"token": "x"}}}`, "devices.bad id"},
		{`{"devices": {"d": {"token": ""}}}`, "devices.d.token: empty token"},
		{`{"pages": [{"token": "sha256:abc"}]}`, "pages[0].token: sha256 token"},
		{`{"page": []}`, "unknown field"},
		{`[`, "unexpected EOF"},
	}
	for _, tt := range tests {
		if _, err := ParseAuth([]byte(tt.in), "auth.json"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAuth(%s): got %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}
