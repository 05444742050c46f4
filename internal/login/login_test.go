package login

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBearer(t *testing.T) {
	for _, tt := range []struct{ header, want string }{
		{"Bearer abc", "abc"},
		{"bearer  abc ", "abc"},
		{"Basic abc", ""},
		{"Bearer", ""},
		{"", ""},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		if got := Bearer(r); got != tt.want {
			t.Errorf("Bearer(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.1:5000": "192.0.2.1", "[::1]:80": "::1", "pipe": "pipe"} {
		if got := ClientAddr(in); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSessions: a session carries its value, ends at its TTL, at Revoke
// and at RevokeAll, and past the bound the oldest goes first.
func TestSessions(t *testing.T) {
	now := time.Now()
	s := NewSessions[string](time.Hour, 3)
	a, b := s.Create("alice", now), s.Create("bob", now.Add(time.Second))
	if a == b || len(a) != 43 {
		t.Fatalf("ids %q and %q: want two different 43-character ids", a, b)
	}
	if v, ok := s.Get(a, now); !ok || v != "alice" {
		t.Fatalf("Get(a) = %q, %v; want alice, true", v, ok)
	}
	if s.Valid(a, now.Add(time.Hour)) {
		t.Error("a session is valid at its end")
	}
	s.Revoke(b)
	if s.Valid(b, now) {
		t.Error("a revoked session is valid")
	}
	s.Revoke(a)
	ids := []string{s.Create("1", now), s.Create("2", now.Add(time.Second)), s.Create("3", now.Add(2*time.Second)), s.Create("4", now.Add(3*time.Second))}
	if s.Valid(ids[0], now.Add(3*time.Second)) || !s.Valid(ids[1], now.Add(3*time.Second)) || s.Len() > 3 {
		t.Errorf("past the bound of 3: the oldest should go; %d held", s.Len())
	}
	s.RevokeAll()
	if s.Valid(ids[2], now) || s.Len() != 0 {
		t.Error("RevokeAll left a session")
	}
}

// TestThrottle: burst mistakes, then one per interval; a full bucket is
// forgotten.
func TestThrottle(t *testing.T) {
	now := time.Now()
	th := NewThrottle(3, time.Second)
	for i := range 3 {
		if !th.Allow("a", now) {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
		th.Fail("a", now)
	}
	if th.Allow("a", now) {
		t.Fatal("a fourth attempt at once is allowed")
	}
	if !th.Allow("b", now) {
		t.Fatal("another address is throttled")
	}
	if !th.Allow("a", now.Add(time.Second)) {
		t.Fatal("no attempt allowed a second later")
	}
	if !th.Allow("a", now.Add(10*time.Second)) || len(th.m) != 0 {
		t.Errorf("a full bucket is still held: %d", len(th.m))
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !ValidHash(h) || !strings.HasPrefix(h, "$2a$") {
		t.Fatalf("hash %q is not bcrypt's", h)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct hors") || CheckPassword("plain", "plain") {
		t.Error("CheckPassword accepts a wrong password or a non-hash")
	}
	for _, bad := range []string{"short", strings.Repeat("x", 73), "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"} {
		if _, err := HashPassword(bad); err == nil {
			t.Errorf("HashPassword(%q) accepted", bad)
		}
	}
}

// FuzzSessionCookie checks that no cookie value but a session made here
// passes, whatever its shape, that one made here does, and that it no
// longer does once revoked.
func FuzzSessionCookie(f *testing.F) {
	s := NewSessions[struct{}](12*time.Hour, 10000)
	now := time.Now()
	good, gone := s.Create(struct{}{}, now), s.Create(struct{}{}, now)
	s.Revoke(gone)
	f.Add(good)
	f.Add(good + "x")
	f.Add(gone)
	f.Add("9999999999." + strings.Repeat("A", 43))
	f.Add(".")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		if v == good {
			if !s.Valid(v, now) {
				t.Fatal("a session made here is refused")
			}
			if s.Valid(v, now.Add(s.TTL())) {
				t.Fatal("a session is accepted after it expired")
			}
			s.m[sha256.Sum256([]byte(good))] = session[struct{}]{exp: now.Add(s.TTL())}
			return
		}
		if s.Valid(v, now) {
			t.Fatalf("forged or revoked session %q accepted", v)
		}
	})
}

// FuzzLoginNext checks the login form's next= rule: whatever is accepted
// stays a path on the server, also as a browser reads it (tabs and line
// breaks dropped, '\' as '/'), and a plain path is kept.
func FuzzLoginNext(f *testing.F) {
	for _, s := range []string{"/", "/d/Device_1/", "/api/devices?x=1#y", "//evil.example/", "/\\evil.example/",
		"/\t/evil.example/", "/\n/evil.example", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example",
		"evil.example", "", "/@evil.example", "/x/../../evil", " /x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		if got != "/" && got != next {
			t.Fatalf("SafeNext(%q) = %q, want it or /", next, got)
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
		u, err := url.Parse(browser)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
			t.Fatalf("SafeNext(%q) = %q, which a browser reads as %q: off the server", next, got, browser)
		}
		if strings.HasPrefix(next, "/d/") && !strings.ContainsAny(next, "\\\t\r\n\x00") && got != next && len(next) < 100 && url.PathEscape(next[3:]) == next[3:] {
			t.Fatalf("SafeNext(%q) = %q, want the path kept", next, got)
		}
	})
}
