package hub

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// idSeeds are device ids and paths an attacker would try first.
var idSeeds = []string{
	"Device_1", "a", "a.b-c_d", ".", "..", ".hidden", "a/b", "../etc/passwd", "a\x00b",
	"Dеvice_1", // Cyrillic 'е', a look-alike
	"ＤＥＶ", "%2e%2e", "a%2Fb", " ", "a b", strings.Repeat("x", 64), strings.Repeat("x", 65),
	strings.Repeat("y", 10000), "\xff\xfe", "d/x/", "\u202eevil",
}

// FuzzValidID checks that an accepted id is always safe to use as one path
// segment, a file name part and a log field: 1-64 ASCII letters, digits,
// '_', '-', '.', never "." or "..", never with '/', NUL or a look-alike.
func FuzzValidID(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidID(id)
		if err == nil {
			checkSafeID(t, id)
			return
		}
		if !strings.HasPrefix(err.Error(), "bad device id") {
			t.Fatalf("ValidID(%q) = %q, want a message starting \"bad device id\"", id, err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("ValidID(%q): error %q is not valid UTF-8 (it is logged and sent in a 400)", id, err)
		}
	})
}

func checkSafeID(t *testing.T, id string) {
	t.Helper()
	if id == "" || len(id) > MaxIDLength || id[0] == '.' {
		t.Fatalf("ValidID accepted %q: empty, longer than %d or leading '.'", id, MaxIDLength)
	}
	if url.PathEscape(id) != id {
		t.Fatalf("ValidID accepted %q, which needs escaping in a path (%q)", id, url.PathEscape(id))
	}
	for _, r := range id {
		if r >= 0x80 || r == '/' || r == '\\' || r == 0 {
			t.Fatalf("ValidID accepted %q with rune %q", id, r)
		}
	}
}

// FuzzDevicePath drives the device endpoint with any request path: a plain
// (non-upgrade) request is always a 400; the id the hub reads from the path
// is the decoded path without its leading '/', and it must pass ValidID for
// the answer to be the "WebSocket endpoint" hint rather than "bad device id".
func FuzzDevicePath(f *testing.F) {
	for _, s := range idSeeds {
		f.Add("/" + url.PathEscape(s))
		f.Add("/" + s)
	}
	f.Add("/a/b/c")
	f.Add("/%00")
	f.Add("//x")
	h := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	dev := h.deviceHandler()
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		r := &http.Request{Method: "GET", URL: u, Host: "hub", Header: http.Header{}, RemoteAddr: "192.0.2.1:1"}
		w := httptest.NewRecorder()
		dev.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("GET %q without upgrade: %d, want 400", target, w.Code)
		}
		idErr := ValidID(u.Path[1:])
		bad := strings.HasPrefix(w.Body.String(), "bad device id")
		if bad != (idErr != nil) {
			t.Fatalf("GET %q: body %q, ValidID(%q) = %v", target, w.Body.String(), u.Path[1:], idErr)
		}
	})
}

// FuzzPagePath drives the page port's plain HTTP side (dashboard, /d/<id>/,
// API) with any path: never a 5xx, never a file outside the embedded
// assets, and /d/<id>/... only answered 200 for a valid id.
func FuzzPagePath(f *testing.F) {
	for _, s := range idSeeds {
		f.Add("/d/" + url.PathEscape(s) + "/")
		f.Add("/api/devices/" + url.PathEscape(s))
	}
	f.Add("/d/x/../../etc/passwd")
	f.Add("/d/x/%2e%2e/%2e%2e/etc/passwd")
	f.Add("/d/x/app.js")
	f.Add("/static/../../go.mod")
	f.Add("/d/x/sub/index.html")
	f.Add("/")
	h := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	page := h.pageHandler()
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		r := &http.Request{Method: "GET", URL: u, Host: "hub", Header: http.Header{}, RemoteAddr: "192.0.2.1:1", Body: http.NoBody}
		w := httptest.NewRecorder()
		page.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("GET %q: %d %q", target, w.Code, w.Body.String())
		}
		if strings.Contains(w.Body.String(), "module tether") || strings.Contains(w.Body.String(), "root:x:") {
			t.Fatalf("GET %q leaked a file outside the assets", target)
		}
		id, rest, isDev := strings.Cut(strings.TrimPrefix(u.Path, "/d/"), "/")
		if strings.HasPrefix(u.Path, "/d/") && isDev && w.Code == http.StatusOK {
			if ValidID(id) != nil || strings.Contains(rest, "/") {
				t.Fatalf("GET %q: 200 for device %q file %q", target, id, rest)
			}
		}
	})
}

// FuzzParseAuth checks that whatever an auth file holds, ParseAuth never
// panics, and what it accepts is usable: valid ids, non-empty tokens that
// match themselves (plain) or hash to 32 bytes (sha256:), and a file that
// survives a round trip through JSON.
func FuzzParseAuth(f *testing.F) {
	seeds := []string{
		`{"devices": {"Device_1": {"token": "s3cret"}}, "pages": [{"token": "p"}]}`,
		`{"devices": {"d": {"token": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}}}`,
		`{"devices": {"../x": {"token": "t"}}}`,
		`{"devices": {"d": {"token": ""}}}`,
		`{"devices": {"d": {"token": "sha256:zz"}}}`,
		`{"pages": [{}]}`,
		`{"devices": null, "pages": null}`,
		`{"extra": 1}`,
		`{"devices": {"d": {"token": "a"}}} trailing`,
		`[]`, ``, `{`, `{"devices": {"d": {"token": 5}}}`,
		`{"devices": {"d\u0000": {"token": "t"}}}`,
		`{"devices": {"d": {"alias": "k3J9xQ2mZp7LwR4tV8yB1n", "cidr": ["10.0.0.0/8"], "labels": ["a=b"]}}}`,
		`{"pages": [{"token": "t", "name": "n", "grants": [{"devices": ["*", "k-*", "label:x", "d1"], "verbs": ["view", "admin"]}]}]}`,
		`{"users": {"u": {"password": "$2a$10$UoH7GZGacCrkzFr8oZeHqubuRAd6Y.nQ5c53Il1k9rfj8J4qXkFqG", "grants": []}}}`,
		`{"pages": [{"token": "t", "grants": [{"devices": ["[a-"], "verbs": ["view"]}]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuth(b, "auth.json")
		if err != nil {
			if a != nil {
				t.Fatal("ParseAuth returned an Auth with an error")
			}
			if !strings.HasPrefix(err.Error(), "auth.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for id, tok := range a.Devices {
			if ValidID(id) != nil {
				t.Fatalf("accepted device id %q", id)
			}
			if tok.Token.Token != "" || !tok.weak() {
				checkToken(t, tok.Token)
			}
		}
		for _, tok := range a.Pages {
			checkToken(t, tok.Token)
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAuth(again, "again"); err != nil {
			t.Fatalf("accepted %q, refused its re-encoding %q: %v", b, again, err)
		}
	})
}

func checkToken(t *testing.T, tok Token) {
	t.Helper()
	if tok.Token == "" {
		t.Fatal("accepted an empty token")
	}
	if tok.Match("") {
		t.Fatal("a token matches the empty string")
	}
	if !strings.HasPrefix(tok.Token, "sha256:") && !tok.Match(tok.Token) {
		t.Fatalf("plain token %q does not match itself", tok.Token)
	}
	if strings.HasPrefix(tok.Token, "sha256:") && tok.Match(tok.Token) {
		t.Fatalf("hashed token %q matches its own file text", tok.Token)
	}
}

// FuzzCheckOrigin checks the page port's Origin rule: an Origin is let
// through only when its host is the request's host or matches a pattern.
func FuzzCheckOrigin(f *testing.F) {
	for _, o := range []string{"http://hub", "https://HUB", "http://evil.example", "null", "http://hub.evil.example",
		"http://hub@evil.example", "http://evil.example#hub", "file://", "http://[::1", "http://a.example.com", "ws://hub"} {
		f.Add(o, "hub")
	}
	h := New(Options{OriginPatterns: []string{"*.example.com"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.Fuzz(func(t *testing.T, origin, host string) {
		r := &http.Request{Header: http.Header{"Origin": {origin}}, Host: host}
		if origin == "" || h.checkOrigin(r) != nil {
			return
		}
		u, err := url.Parse(origin)
		if err != nil {
			t.Fatalf("unparseable Origin %q allowed", origin)
		}
		if !strings.EqualFold(u.Host, host) && !strings.HasSuffix(strings.ToLower(u.Host), ".example.com") {
			t.Fatalf("Origin %q (host %q) allowed on host %q", origin, u.Host, host)
		}
	})
}
