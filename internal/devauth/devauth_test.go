package devauth_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/localpeer"
)

// syncBuf is a buffer for a console or a log written from handlers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// rig is a guard over a handler that answers "app", served on 127.0.0.1
// (to this process's own user: the tests that want a refusal from there
// configure "auth": "strict").
type rig struct {
	g             *devauth.Guard
	root          string
	console, log  *syncBuf
	url           string
	resetAllowed  bool
	resetAllowedM sync.Mutex
}

func newRig(t *testing.T, root string) *rig {
	t.Helper()
	r := &rig{root: root, console: &syncBuf{}, log: &syncBuf{}}
	r.g = devauth.New(devauth.Options{Root: root, Console: r.console, Logger: slog.New(slog.NewTextHandler(r.log, nil)),
		ThrottleEvery: time.Hour, // a slow bcrypt (-race) refills no attempt
		HashCost:      4})
	app := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "app") })
	srv := httptest.NewUnstartedServer(r.g.Handler(app, devauth.HandlerOptions{Device: "Device_1", Reset: func(*http.Request) bool {
		r.resetAllowedM.Lock()
		defer r.resetAllowedM.Unlock()
		return r.resetAllowed
	}}))
	srv.Config.ConnContext = localpeer.ConnContext // as the device's servers do
	srv.Start()
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

var passwordLine = regexp.MustCompile(`(?m)^    ([a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5})$`)

// shown returns the password the console showed, failing unless it
// showed exactly one.
func (r *rig) shown(t *testing.T) string {
	t.Helper()
	m := passwordLine.FindAllStringSubmatch(r.console.String(), -1)
	if len(m) != 1 {
		t.Fatalf("console shows %d passwords, want 1:\n%s", len(m), r.console.String())
	}
	return m[0][1]
}

// do sends a request with the client c (nil: no cookies) and returns its
// status and body.
func do(t *testing.T, c *http.Client, method, url, bearer string, form url.Values, hdr ...string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, url, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = noFollow(nil)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// noFollow is a client with jar that shows redirects rather than
// following them.
func noFollow(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// browser is a client with a cookie jar, logged in with pw.
func (r *rig) browser(t *testing.T, pw string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noFollow(jar)
	if code, body := do(t, c, "POST", r.url+"/tether/login", "", url.Values{"password": {pw}, "next": {"/x"}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d %.200s, want 303", code, body)
	}
	return c
}

// TestFirstBoot: the first Configure makes a password, shows it once on
// the console and never in the log, and stores only its bcrypt hash,
// 0600; the next boot keeps it and shows nothing.
func TestFirstBoot(t *testing.T) {
	root := t.TempDir()
	r := newRig(t, root)
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	if strings.Contains(r.log.String(), pw) || !strings.Contains(r.log.String(), "shown once on the console") {
		t.Errorf("the log holds the password or does not say where it went:\n%s", r.log.String())
	}
	fi, err := os.Stat(filepath.Join(root, devauth.File))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(root, devauth.File))
	if strings.Contains(string(b), pw) || !strings.HasPrefix(string(b), "$2a$04$") {
		t.Errorf("password file holds %q, want a bcrypt hash", b)
	}
	if code, _ := do(t, nil, "GET", r.url+"/", pw, nil); code != 200 {
		t.Errorf("the shown password as bearer: %d", code)
	}

	again := newRig(t, root) // the next start
	again.g.Configure(config.AuthStrict)
	if again.console.String() != "" {
		t.Errorf("the next start shows:\n%s", again.console.String())
	}
	if code, _ := do(t, nil, "GET", again.url+"/", pw, nil); code != 200 {
		t.Errorf("the password after a restart: %d", code)
	}
}

// TestRefusals: without credentials a script gets 401 with what to send,
// a browser the login form (401 too), a WebSocket upgrade 401; a wrong
// password 401; the right one, as bearer or through a login, passes.
func TestRefusals(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	code, body := do(t, nil, "GET", r.url+"/", "", nil)
	if code != 401 || !strings.Contains(body, "Authorization: Bearer") {
		t.Errorf("no credentials: %d %q", code, body)
	}
	code, body = do(t, nil, "GET", r.url+"/page?x=1", "", nil, "Accept", "text/html")
	if code != 401 || !strings.Contains(body, `<form method="post" action="/tether/login">`) || !strings.Contains(body, `value="/page?x=1"`) || !strings.Contains(body, "Device_1") {
		t.Errorf("a browser without credentials: %d %.300q, want the login form coming back to /page?x=1", code, body)
	}
	if code, _ := do(t, nil, "GET", r.url+"/", "", nil, "Upgrade", "websocket", "Connection", "Upgrade"); code != 401 {
		t.Errorf("WebSocket upgrade without credentials: %d", code)
	}
	if code, _ := do(t, nil, "GET", r.url+"/", "wrong-password", nil); code != 401 {
		t.Errorf("wrong bearer: %d", code)
	}
	if code, body := do(t, nil, "GET", r.url+"/", pw, nil); code != 200 || body != "app" {
		t.Errorf("bearer: %d %q", code, body)
	}
	c := r.browser(t, pw)
	if code, body := do(t, c, "GET", r.url+"/", "", nil); code != 200 || body != "app" {
		t.Errorf("after login: %d %q", code, body)
	}
	if err := r.g.Proven(httptest.NewRequest("GET", "/", nil)); err == nil {
		t.Error("a request without credentials proves access")
	}
}

// TestSessions: the login cookie is HttpOnly, SameSite=Strict, and ends
// at logout; a password change ends every session and the old password,
// and logs in the browser that made it.
func TestSessions(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	jar, _ := cookiejar.New(nil)
	c := noFollow(jar)
	req, _ := http.NewRequest("POST", r.url+"/tether/login", strings.NewReader(url.Values{"password": {pw}, "next": {"//evil.example/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	set := resp.Header.Get("Set-Cookie")
	if resp.Header.Get("Location") != "/" || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") || !strings.HasPrefix(set, devauth.CookieName+"=") {
		t.Fatalf("login: Location %q Set-Cookie %q", resp.Header.Get("Location"), set)
	}
	other := r.browser(t, pw)
	if code, _ := do(t, c, "POST", r.url+"/tether/logout", "", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := do(t, c, "GET", r.url+"/", "", nil); code != 401 {
		t.Errorf("after logout: %d, want 401", code)
	}
	if code, _ := do(t, other, "GET", r.url+"/", "", nil); code != 200 {
		t.Errorf("another browser after this one's logout: %d", code)
	}

	c = r.browser(t, pw)
	if code, body := do(t, c, "POST", r.url+"/tether/password", "", url.Values{"old": {"wrong-old"}, "new": {"new password 1"}, "again": {"new password 1"}}); code != 401 || !strings.Contains(body, "old password") {
		t.Errorf("change with a wrong old password: %d %.200q", code, body)
	}
	if code, _ := do(t, c, "POST", r.url+"/tether/password", "", url.Values{"old": {pw}, "new": {"new password 1"}, "again": {"new password 2"}}); code != 422 {
		t.Errorf("change with a repetition that differs: %d", code)
	}
	if code, _ := do(t, c, "POST", r.url+"/tether/password", "", url.Values{"old": {pw}, "new": {"short"}, "again": {"short"}}); code != 422 {
		t.Errorf("change to a short password: %d", code)
	}
	if code, body := do(t, c, "POST", r.url+"/tether/password", "", url.Values{"old": {pw}, "new": {"new password 1"}, "again": {"new password 1"}}); code != 200 || !strings.Contains(body, "Password changed") {
		t.Fatalf("change: %d %.200q", code, body)
	}
	for name, tc := range map[string]struct {
		c      *http.Client
		bearer string
		want   int
	}{
		"the browser that changed it": {c, "", 200},
		"another browser":             {other, "", 401},
		"the old password":            {nil, pw, 401},
		"the new password":            {nil, "new password 1", 200},
	} {
		if code, _ := do(t, tc.c, "GET", r.url+"/", tc.bearer, nil); code != tc.want {
			t.Errorf("%s after the change: %d, want %d", name, code, tc.want)
		}
	}
}

// TestChangedOnDisk: a password set by another process (tether device
// passwd) ends every session at the next request.
func TestChangedOnDisk(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	c := r.browser(t, pw)
	if err := devauth.SetPassword(r.root, "set from a shell"); err != nil {
		t.Fatal(err)
	}
	if code, _ := do(t, c, "GET", r.url+"/", "", nil); code != 401 {
		t.Errorf("a session after the file changed: %d, want 401", code)
	}
	if code, _ := do(t, nil, "GET", r.url+"/", "set from a shell", nil); code != 200 {
		t.Errorf("the password set from a shell: %d", code)
	}
}

// TestThrottle: past a burst of wrong passwords from one address, even
// the right one is refused with 429 and Retry-After, by bearer and by the
// login form.
func TestThrottle(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	for range 5 {
		if code, _ := do(t, nil, "GET", r.url+"/", "guess", nil); code != 401 {
			t.Fatalf("a wrong guess: %d, want 401", code)
		}
	}
	req, _ := http.NewRequest("GET", r.url+"/", nil)
	req.Header.Set("Authorization", "Bearer "+pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after 5 wrong ones: %d Retry-After %q, want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, body := do(t, nil, "POST", r.url+"/tether/login", "", url.Values{"password": {pw}}); code != 429 || !strings.Contains(body, "too many wrong passwords") {
		t.Errorf("login form while throttled: %d %.200q", code, body)
	}
	if n := strings.Count(r.log.String(), "wrong device password"); n != 5 {
		t.Errorf("%d warnings of wrong passwords, want 5", n)
	}
}

// TestOff: with auth off every request passes, the warning is loud, no
// password is made, and no one can prove access (secrets stay hidden).
func TestOff(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthOff)
	if code, body := do(t, nil, "GET", r.url+"/", "", nil); code != 200 || body != "app" {
		t.Errorf("auth off: %d %q", code, body)
	}
	if !strings.Contains(r.log.String(), "AUTH OFF") || r.console.String() != "" {
		t.Errorf("auth off: log %q, console %q", r.log.String(), r.console.String())
	}
	if _, err := os.Stat(filepath.Join(r.root, devauth.File)); err == nil {
		t.Error("auth off made a password")
	}
	if err := r.g.Proven(httptest.NewRequest("GET", "/", nil)); err != devauth.ErrAuthOff {
		t.Errorf("Proven with auth off: %v", err)
	}
}

// TestReset: the reset is refused unless Reset allows it; allowed, it
// sets a new password without the old one and logs that browser in.
func TestReset(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	form := url.Values{"new": {"reset password"}, "again": {"reset password"}}
	if code, _ := do(t, nil, "POST", r.url+"/tether/reset", "", form); code != 403 {
		t.Errorf("reset off the access point: %d, want 403", code)
	}
	if _, body := do(t, nil, "GET", r.url+"/", "", nil, "Accept", "text/html"); strings.Contains(body, "/tether/reset") {
		t.Error("the login form offers a reset off the access point")
	}
	r.resetAllowedM.Lock()
	r.resetAllowed = true
	r.resetAllowedM.Unlock()
	if _, body := do(t, nil, "GET", r.url+"/", "", nil, "Accept", "text/html"); !strings.Contains(body, `href="/tether/reset"`) {
		t.Error("the login form does not offer a reset on the access point")
	}
	jar, _ := cookiejar.New(nil)
	c := noFollow(jar)
	if code, body := do(t, c, "POST", r.url+"/tether/reset", "", form); code != 200 || !strings.Contains(body, "Password reset") {
		t.Fatalf("reset on the access point: %d %.200q", code, body)
	}
	if code, _ := do(t, c, "GET", r.url+"/", "", nil); code != 200 {
		t.Errorf("the browser that reset it: %d", code)
	}
	if code, _ := do(t, nil, "GET", r.url+"/", pw, nil); code != 401 {
		t.Errorf("the old password after a reset: %d", code)
	}
	if !strings.Contains(r.log.String(), "reset from the device's access point") {
		t.Errorf("the log does not say the password was reset:\n%s", r.log.String())
	}
}

// TestNoRoot: without a root the password lives in memory for the run.
func TestNoRoot(t *testing.T) {
	r := newRig(t, "")
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	if !strings.Contains(r.console.String(), "in memory for this run only") {
		t.Errorf("console:\n%s", r.console.String())
	}
	if code, _ := do(t, nil, "GET", r.url+"/", pw, nil); code != 200 {
		t.Errorf("bearer: %d", code)
	}
}

// TestCrossOriginLogin: the guard's own forms refuse cross-origin posts.
func TestCrossOriginLogin(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthStrict)
	pw := r.shown(t)
	if code, _ := do(t, nil, "POST", r.url+"/tether/login", "", url.Values{"password": {pw}}, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site login: %d, want 403", code)
	}
}
