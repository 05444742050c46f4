package integration

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/devauth"
	"tether/internal/tethertest"
)

// passwordLine is how the console shows the device password.
var passwordLine = regexp.MustCompile(`(?m)^    ([a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5})$`)

// client is an HTTP client from the address local ("" any), with a cookie
// jar when jar, that shows redirects rather than following them.
func client(t *testing.T, local string, jar bool) *http.Client {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if local != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c.Transport = &http.Transport{DialContext: d.DialContext}
	}
	if jar {
		c.Jar, _ = cookiejar.New(nil)
	}
	return c
}

// call sends method url with the form (nil: none) and header pairs, and
// returns the status and the body.
func call(t *testing.T, c *http.Client, method, u string, form url.Values, hdr ...string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// cookieOf is the device's session cookie c holds for u, as a header line.
func cookieOf(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	pu, _ := url.Parse(u)
	for _, k := range c.Jar.Cookies(pu) {
		if k.Name == devauth.CookieName {
			return "Cookie: " + k.Name + "=" + k.Value
		}
	}
	t.Fatalf("no %s cookie for %s", devauth.CookieName, u)
	return ""
}

// TestDeviceLANAuth runs the real binary on a seed root with no password
// (a new device, or one upgraded to a tether with device passwords), with
// "auth": "strict" so that this test process, the device's own user on
// loopback, is refused as a client elsewhere would be: the
// password is shown once on the console, not in the device's log; the
// page and the command API refuse a client without it (401, the
// WebSocket upgrade too) and take it as a bearer token and through a
// login's cookie, which ends at logout; tether ws sends it with --token;
// tether device passwd replaces it under the running device; wrong
// passwords are throttled per address; a restart keeps it.
func TestDeviceLANAuth(t *testing.T) {
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	d := &device{http: addr(h), ws: addr(w), root: t.TempDir()}
	write(t, filepath.Join(d.root, "network.json"), tethertest.SeedNetwork) // no device.passwd
	write(t, filepath.Join(d.root, "app.json"), tethertest.StrictAuth(tethertest.SeedApp("demo", h, w, tethertest.FreePort(t), tethertest.FreePort(t))))
	d.proc = tethertest.Start(t, "device", "--root", d.root, "--net", "sim")
	tethertest.WaitPort(t, d.ws, 30*time.Second)
	m := passwordLine.FindAllStringSubmatch(d.proc.Output(), -1)
	if len(m) != 1 || !strings.Contains(d.proc.Output(), "It is shown this once") {
		t.Fatalf("the console shows %d device passwords, want 1:\n%s", len(m), d.proc.Output())
	}
	pw := m[0][1]
	if b, err := os.ReadFile(filepath.Join(d.root, devauth.File)); err != nil || !strings.HasPrefix(string(b), "$2a$10$") || strings.Contains(string(b), pw) {
		t.Errorf("%s: %q, %v; want a bcrypt hash of cost 10", devauth.File, b, err)
	}
	if log, _ := os.ReadFile(filepath.Join(d.root, "tether.log")); strings.Contains(string(log), pw) || !strings.Contains(string(log), "made a device password") {
		t.Errorf("tether.log holds the password, or does not say one was made:\n%s", log)
	}
	page, api := "http://"+d.http+"/", d.ws
	plain := client(t, "", false)
	bearer := []string{"Authorization", "Bearer " + pw}

	// Without the password: 401 for the page (the login form to a browser),
	// a file, and the command API's upgrade.
	if code, body := call(t, plain, "GET", page, nil); code != 401 || !strings.Contains(body, "Authorization: Bearer") {
		t.Errorf("GET / without the password: %d %.200q", code, body)
	}
	if code, body := call(t, plain, "GET", page, nil, "Accept", "text/html"); code != 401 || !strings.Contains(body, "Log in to Device_1") {
		t.Errorf("GET / from a browser without the password: %d %.200q, want the login form", code, body)
	}
	if code, _ := call(t, plain, "GET", page+"app.js", nil); code != 401 {
		t.Errorf("GET /app.js without the password: %d", code)
	}
	for _, a := range []string{d.http, d.ws} {
		if code, _ := rawHandshake(t, a, "/"); code != 401 {
			t.Errorf("WebSocket upgrade on %s without the password: %d, want 401", a, code)
		}
		if code, _ := rawHandshake(t, a, "/", "Authorization: Bearer wrong-password"); code != 401 {
			t.Errorf("WebSocket upgrade on %s with a wrong password: %d, want 401", a, code)
		}
	}

	// With it: as a bearer token, and through a login's cookie.
	if code, body := call(t, plain, "GET", page, nil, bearer...); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("GET / with the bearer password: %d %.100q", code, body)
	}
	c := dialRaw(t, api, "/", "Authorization: Bearer "+pw)
	c.waitText(`"iam":"Device_1"`, 10*time.Second)
	c.c.Close()
	browser := client(t, "", true)
	if code, _ := call(t, browser, "POST", "http://"+d.http+"/tether/login", url.Values{"password": {pw}, "next": {"/"}}); code != 303 {
		t.Fatalf("login: %d, want 303", code)
	}
	if code, _ := call(t, browser, "GET", page, nil); code != 200 {
		t.Errorf("GET / after a login: %d", code)
	}
	cookie := cookieOf(t, browser, page)
	c = dialRaw(t, api, "/", cookie, "Origin: http://"+d.http) // as the page's own script does
	c.waitText(`"iam":"Device_1"`, 10*time.Second)
	c.c.Close()

	// tether ws: --token sends it; without, the refusal says what to send.
	ws := func(args ...string) (string, error) {
		cmd := exec.Command(tethertest.Binary(t), append([]string{"ws", "--wait", "1s"}, args...)...)
		cmd.Stdin = strings.NewReader(`["GET", "help", []]` + "\n")
		cmd.Env = append(os.Environ(), "TETHER_TOKEN=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ws("--token", pw, "ws://"+api+"/"); err != nil || !strings.Contains(out, `"help"`) {
		t.Errorf("tether ws --token: %v\n%s", err, out)
	}
	if out, err := ws("ws://" + api + "/"); err == nil || !strings.Contains(out, "401") || !strings.Contains(out, "Authorization: Bearer") {
		t.Errorf("tether ws without the password: %v\n%s", err, out)
	}

	// Logout ends the cookie's session.
	if code, _ := call(t, browser, "POST", "http://"+d.http+"/tether/logout", url.Values{}); code != 303 {
		t.Errorf("logout: %d", code)
	}
	if code, _ := rawHandshake(t, api, "/", cookie); code != 401 {
		t.Errorf("the cookie after logout: %d, want 401", code)
	}

	// tether device passwd, from a shell on the device: the running device
	// takes the new password at once; the old one and its sessions end,
	// and so does a command API connection it opened, within a few
	// seconds, before anyone asks the device anything.
	if code, _ := call(t, browser, "POST", "http://"+d.http+"/tether/login", url.Values{"password": {pw}}); code != 303 {
		t.Fatalf("login again: %d", code)
	}
	live := dialRaw(t, api, "/", "Authorization: Bearer "+pw)
	live.waitText(`"iam":"Device_1"`, 10*time.Second)
	cmd := exec.Command(tethertest.Binary(t), "device", "passwd", "--root", d.root, "--stdin")
	cmd.Stdin = strings.NewReader("set from a shell\n")
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "set from a shell") {
		t.Fatalf("tether device passwd --stdin: %v\n%s", err, out)
	}
	if code := live.waitClose(5*devauth.WatchEvery + 5*time.Second); code != devauth.CodePasswordChanged {
		t.Errorf("the command API connection of the old password after tether device passwd: closed %d, want 4001", code)
	}
	d.proc.WaitOutput("device password changed: every session ended", 5*time.Second)
	if code, _ := call(t, browser, "GET", page, nil); code != 401 {
		t.Errorf("a session after tether device passwd: %d, want 401", code)
	}
	if code, _ := call(t, plain, "GET", page, nil, bearer...); code != 401 {
		t.Errorf("the old password after tether device passwd: %d, want 401", code)
	}
	pw, bearer = "set from a shell", []string{"Authorization", "Bearer set from a shell"}
	if code, _ := call(t, plain, "GET", page, nil, bearer...); code != 200 {
		t.Errorf("the new password: %d", code)
	}

	// Wrong passwords from one address are throttled, the right one too
	// while it lasts; another address is not. Five wrong ones at once are
	// answered 401; the throttle lets one more through every 5 s, so on a
	// loaded machine (bcrypt under -race) a few more may be, until the
	// 429 that must come well before 20.
	guesser := client(t, "127.0.0.9", false)
	for i := range 5 {
		if code, _ := call(t, guesser, "GET", page, nil, "Authorization", "Bearer guess"); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	for i := 6; ; i++ {
		code, _ := call(t, guesser, "GET", page, nil, "Authorization", "Bearer guess")
		if code == 429 {
			break
		}
		if code != 401 || i == 20 {
			t.Fatalf("guess %d: %d, want 401 or, soon, 429", i, code)
		}
	}
	if code, body := call(t, guesser, "GET", page, nil, bearer...); code != 429 || !strings.Contains(body, "too many wrong passwords") {
		t.Errorf("the right password after a throttled wrong one from its address: %d %.100q, want 429", code, body)
	}
	if code, _ := call(t, plain, "GET", page, nil, bearer...); code != 200 {
		t.Errorf("the right password from another address meanwhile: %d", code)
	}

	// A restart shows no password and keeps the one set.
	d.proc.Signal(syscall.SIGTERM)
	d.proc.Wait(10 * time.Second)
	p := tethertest.Start(t, "device", "--root", d.root, "--net", "sim")
	tethertest.WaitPort(t, d.ws, 30*time.Second)
	if code, _ := call(t, plain, "GET", page, nil, bearer...); code != 200 {
		t.Errorf("the password after a restart: %d", code)
	}
	if passwordLine.MatchString(p.Output()) {
		t.Errorf("a restart shows a password:\n%s", p.Output())
	}
}

// TestDeviceAuthOff: "auth": "off" in app.json asks for no password, and
// says so loudly at every start; secrets still are not shown.
func TestDeviceAuthOff(t *testing.T) {
	h, w, rec := tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t)
	app := strings.Replace(tethertest.SeedApp("demo", h, w, tethertest.FreePort(t), tethertest.FreePort(t)), `"app": "demo",`, `"app": "demo", "auth": "off",`, 1)
	root := tethertest.SeedRootApp(t, app)
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim", "--recovery-addr", addr(rec))
	tethertest.WaitPort(t, addr(w), 30*time.Second)
	if !strings.Contains(p.Output(), `AUTH OFF: app.json has \"auth\": \"off\"`) {
		t.Errorf("the log does not warn that the device asks for no password:\n%s", p.Output())
	}
	if code, _ := call(t, client(t, "", false), "GET", "http://"+addr(h)+"/", nil); code != 200 {
		t.Errorf("GET / with auth off: %d", code)
	}
	c := dialRaw(t, addr(w), "/")
	c.waitText(`"iam"`, 10*time.Second)
	if out, err := exec.Command(tethertest.Binary(t), "config", "check", "--root", root).CombinedOutput(); err != nil || !strings.Contains(string(out), `"auth": "off"`) {
		t.Errorf("config check does not note auth off: %v\n%s", err, out)
	}
}

// TestRecoveryAuthAndAPReset: recovery asks for the device password on
// its page, its API and its command protocol ("auth": "strict": of this
// test process too), and shows secrets only to
// someone who gave it; someone on the device's own access point (its
// subnet; the sim's access point is put on 127.0.4.1 for this) may set a
// new password without the old one, which ends the old one and the
// command connection it opened (4001).
func TestRecoveryAuthAndAPReset(t *testing.T) {
	rec := addr(tethertest.FreePort(t))
	root := tethertest.SeedRootApp(t, tethertest.StrictAuth(tethertest.SeedApp("nosuchapp", tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t))))
	cmd := exec.Command(tethertest.Binary(t), "device", "--root", root, "--net", "sim", "--recovery-addr", rec)
	cmd.Env = append(os.Environ(), "TETHER_SIM_AP_IP=127.0.4.1")
	p := tethertest.StartCmd(t, cmd)
	tethertest.WaitPort(t, rec, 30*time.Second)
	p.WaitOutput("access point up for recovery", 10*time.Second)
	base := "http://" + rec
	lan, onAP := client(t, "127.0.0.1", true), client(t, "127.0.4.2", true)
	before, _ := os.ReadFile(filepath.Join(root, "app.json"))

	for _, tc := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/api/status"}, {"GET", "/api/status?reveal=1"}, {"POST", "/api/restart"}} {
		if code, _ := call(t, lan, tc.method, base+tc.path, nil, "Origin", base); code != 401 {
			t.Errorf("%s %s without the password: %d, want 401", tc.method, tc.path, code)
		}
	}
	if code, _ := call(t, lan, "POST", base+"/api/config/app.json", url.Values{"text": {`{"app": "demo"}`}}, "Origin", base); code != 401 {
		t.Errorf("a save without the password: %d, want 401", code)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "app.json")); string(after) != string(before) {
		t.Fatal("a refused save changed app.json")
	}
	if code, _ := rawHandshake(t, rec, "/"); code != 401 {
		t.Errorf("recovery's command protocol without the password: %d, want 401", code)
	}
	c := dialRaw(t, rec, "/", deviceAuth)
	c.waitText(`"recovery"`, 10*time.Second)
	if code, body := call(t, lan, "GET", base+"/api/status?reveal=1", nil, deviceAuthKV...); code != 200 || !strings.Contains(body, `"device": "Device_1"`) {
		t.Errorf("reveal with the password: %d %.200q", code, body)
	}

	// Off the access point: no reset.
	if _, body := call(t, lan, "GET", base+"/", nil, "Accept", "text/html"); strings.Contains(body, "/tether/reset") {
		t.Error("the login form offers a reset to a client off the access point")
	}
	newPW := url.Values{"new": {"reset on the AP"}, "again": {"reset on the AP"}}
	if code, _ := call(t, lan, "POST", base+"/tether/reset", newPW, "Origin", base); code != 403 {
		t.Errorf("a reset off the access point: %d, want 403", code)
	}
	// On it: offered, and it works.
	if _, body := call(t, onAP, "GET", base+"/", nil, "Accept", "text/html"); !strings.Contains(body, `href="/tether/reset"`) {
		t.Errorf("the login form does not offer a reset on the access point:\n%.600s", body)
	}
	if code, body := call(t, onAP, "POST", base+"/tether/reset", newPW, "Origin", base); code != 200 || !strings.Contains(body, "Password reset") {
		t.Fatalf("a reset on the access point: %d %.300q", code, body)
	}
	if code, _ := call(t, onAP, "GET", base+"/api/status", nil); code != 200 {
		t.Errorf("the browser that reset the password: %d", code)
	}
	if code := c.waitClose(10 * time.Second); code != devauth.CodePasswordChanged {
		t.Errorf("recovery's command connection of the old password after the reset: closed %d, want 4001", code)
	}
	if code, _ := call(t, lan, "GET", base+"/api/status", nil, deviceAuthKV...); code != 401 {
		t.Errorf("the old password after a reset: %d, want 401", code)
	}
	if code, _ := call(t, lan, "GET", base+"/api/status", nil, "Authorization", "Bearer reset on the AP"); code != 200 {
		t.Errorf("the new password: %d", code)
	}
	p.WaitOutput("device password reset from the device's access point", 5*time.Second)
}

// TestSeedPageAfterLogin: the seed's kind of page (www/page.htm through
// demo.routes, its own script opening the command API on the websocket
// port) works in Chromium on a device that asks for its password, once
// logged in: the browser sends the session cookie with the WebSocket.
// ("auth": "strict": the browser runs as the device's user on loopback,
// which "auth" on lets in without a login.)
func TestSeedPageAfterLogin(t *testing.T) {
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	app := strings.Replace(tethertest.StrictAuth(tethertest.SeedApp("demo", h, w, tethertest.FreePort(t), tethertest.FreePort(t))),
		`"demo": {`, `"demo": {"routes": {"/": "www/page.htm"},`, 1)
	root := tethertest.SeedRootApp(t, app)
	seed, err := os.ReadFile(filepath.Join("testdata", "seedpage", "page.htm"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "www"), 0o755)
	write(t, filepath.Join(root, "www", "page.htm"), strings.ReplaceAll(string(seed), "WSPORT", port(addr(w))))
	tethertest.Start(t, "device", "--root", root, "--net", "sim")
	tethertest.WaitPort(t, addr(w), 30*time.Second)
	if code, _ := call(t, client(t, "", false), "GET", "http://"+addr(h)+"/", nil); code != 401 {
		t.Fatalf("the seed page without the password: %d, want 401", code)
	}
	shot, login := filepath.Join(t.TempDir(), "seed-page.png"), filepath.Join(t.TempDir(), "login.png")
	if out := tethertest.Browser(t, "seed-page.mjs", "http://"+addr(h)+"/", shot, login); !strings.Contains(out, "seed page flow ok") {
		t.Fatalf("browser said:\n%s", out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Fatalf("screenshot of the seed page: %v", err)
	}
	tethertest.KeepScreenshot(t, login, "device-login.png")
}
