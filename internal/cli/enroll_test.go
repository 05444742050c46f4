package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tether/internal/enroll"
	"tether/internal/tethertest"
)

// enrollHub starts a hub with TLS from a CA made by tether certs, that CA
// as its enrollment CA, an operator token "root" and an audit log.
func enrollHub(t *testing.T) (h *hubProc, caDir, auditLog string) {
	t.Helper()
	caDir = wsCerts(t) // tether certs init, server (127.0.0.1)
	auditLog = filepath.Join(t.TempDir(), "audit.log")
	return startEnrollHub(t, caDir, auditLog), caDir, auditLog
}

// startEnrollHub starts enrollHub's hub with the CA in caDir and the audit
// log auditLog, and extra arguments (--device-addr: another run on the
// same address).
func startEnrollHub(t *testing.T, caDir, auditLog string, extra ...string) *hubProc {
	t.Helper()
	auth := filepath.Join(t.TempDir(), "auth.json")
	tethertest.WriteFile(t, auth, `{"devices": {"Device_2": {"token": "d2"}},
		"pages": [{"token": "root", "name": "root"}, {"token": "viewer", "grants": [{"devices": ["*"], "verbs": ["view"]}]}]}`)
	return startHubProc(t, append([]string{"--auth", auth, "--tls-cert", filepath.Join(caDir, "server.crt"), "--tls-key", filepath.Join(caDir, "server.key"),
		"--enroll-ca", caDir, "--audit-file", auditLog}, extra...)...)
}

// makeCode runs tether hub enroll against h and returns its output's
// enrollment URI.
func makeCode(t *testing.T, h *hubProc, caDir string, args ...string) string {
	t.Helper()
	all := append([]string{"hub", "enroll", "--hub", fmt.Sprintf("https://127.0.0.1:%d", h.pagePort),
		"--ca", filepath.Join(caDir, "ca.crt"), "--token", "root"}, args...)
	out, code := runBinary(t, "", all...)
	if code != 0 {
		t.Fatalf("tether %v: exit %d\n%s", all, code, out)
	}
	m := regexp.MustCompile(`--code '(tether://enroll\?[^']+)'`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Code:") || !strings.Contains(out, "█") {
		t.Fatalf("tether hub enroll printed no code, URI or QR code:\n%s", out)
	}
	return m[1]
}

func TestEnrollmentEndToEnd(t *testing.T) {
	h, caDir, auditLog := enrollHub(t)
	uri := makeCode(t, h, caDir, "--device", "Device_1")
	root := tethertest.SeedRoot(t, "demo", tethertest.FreePort(t), 0, 1, 0)

	out, code := runBinary(t, "", "device", "enroll", "--root", root, "--code", uri)
	if code != 0 || !strings.Contains(out, "enrolled Device_1") {
		t.Fatalf("device enroll: exit %d\n%s", code, out)
	}
	if fi, err := os.Stat(filepath.Join(root, "certs", "hub-client.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the device's key: %v %v, want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "app.json")); !strings.Contains(string(b), `"cert": "certs/hub-client.crt"`) {
		t.Fatalf("app.json does not call home with the certificate:\n%s", b)
	}

	// The same code twice is refused, and so is an expired one.
	again := filepath.Join(t.TempDir(), "again")
	os.CopyFS(again, os.DirFS(root))
	if out, code := runBinary(t, "", "device", "enroll", "--root", again, "--code", uri); code == 0 || !strings.Contains(out, "code already used") {
		t.Fatalf("the same code twice: exit %d\n%s", code, out)
	}
	short := makeCode(t, h, caDir, "--ttl", "1s")
	time.Sleep(1200 * time.Millisecond)
	if out, code := runBinary(t, "", "device", "enroll", "--root", again, "--code", short); code == 0 || !strings.Contains(out, "code expired") {
		t.Fatalf("an expired code: exit %d\n%s", code, out)
	}
	if out, code := runBinary(t, "", "device", "enroll", "--root", again, "--code", strings.Replace(short, "code=", "code=Z", 1)); code == 0 || !strings.Contains(out, "unknown code") {
		t.Fatalf("an unknown code: exit %d\n%s", code, out)
	}

	// The enrolled device calls home over mTLS with its certificate and no
	// token, and a page drives it through the hub.
	tethertest.Start(t, "device", "--root", root, "--net", "sim")
	h.WaitOutput("device connected", 30*time.Second)
	ws := tethertest.DialWS(t, fmt.Sprintf("wss://127.0.0.1:%d/Device_1", h.pagePort), tethertest.WSOptions{
		TLS: trusting(t, filepath.Join(caDir, "ca.crt")), Header: http.Header{"Authorization": {"Bearer root"}}})
	ws.Send(`["CMD", "start_interface", []]`)
	ws.ExpectKey("fake_interface/running", true)

	b, _ := os.ReadFile(auditLog)
	for _, want := range []string{`"action":"enroll code"`, `"who":"device Device_1","remote":"127.0.0.1:`, `"action":"enroll","allowed":true`,
		`"reason":"enrollment refused: code already used"`, `"reason":"enrollment refused: code expired"`, `"reason":"enrollment refused: unknown code"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("audit log lacks %s:\n%s", want, b)
		}
	}
	for _, want := range []string{"device enrolled", "enrollment refused"} {
		if !strings.Contains(h.Output(), want) {
			t.Errorf("hub log lacks %q", want)
		}
	}
}

func TestEnrollCodesAreForOperators(t *testing.T) {
	h, caDir, _ := enrollHub(t)
	all := []string{"hub", "enroll", "--hub", fmt.Sprintf("https://127.0.0.1:%d", h.pagePort), "--ca", filepath.Join(caDir, "ca.crt"), "--token", "viewer"}
	if out, code := runBinary(t, "", all...); code == 0 || !strings.Contains(out, "403 Forbidden") {
		t.Fatalf("a view token made a code: exit %d\n%s", code, out)
	}
	// A code for any device cannot take an id already in the auth file.
	uri := makeCode(t, h, caDir)
	root := tethertest.SeedRootApp(t, `{"app": "demo", "demo": {}}`)
	net := filepath.Join(root, "network.json")
	b, _ := os.ReadFile(net)
	os.WriteFile(net, []byte(strings.Replace(string(b), "Device_1", "Device_2", 1)), 0o600)
	if out, code := runBinary(t, "", "device", "enroll", "--root", root, "--code", uri); code == 0 || !strings.Contains(out, "Device_2 is already enrolled or in the auth file") {
		t.Fatalf("enrolling an id in the auth file: exit %d\n%s", code, out)
	}
}

// TestHubAccessInBrowser: in Chromium, a user sees only her devices and no
// enrollment link; an operator makes an enrollment code on the dashboard
// and is shown it as text, as the command and as a QR code.
func TestHubAccessInBrowser(t *testing.T) {
	caDir := wsCerts(t)
	auth := filepath.Join(t.TempDir(), "auth.json")
	tethertest.WriteFile(t, auth, `{"devices": {"Device_1": {"token": "d1"}, "Device_2": {"token": "d2"}}, "pages": [],
		"users": {"alice": {"password": "$2a$10$UoH7GZGacCrkzFr8oZeHqubuRAd6Y.nQ5c53Il1k9rfj8J4qXkFqG", "grants": [{"devices": ["Device_1"], "verbs": ["view"]}]},
		          "ops":   {"password": "$2a$10$OSwg1YPCBN8apJuI9nDoNu0wefBcF33T1WuM1cOMSk3By2QBj35V6", "grants": [{"devices": ["*"], "verbs": ["admin"]}]}}}`)
	h := startHubProc(t, "--auth", auth, "--tls-cert", filepath.Join(caDir, "server.crt"), "--tls-key", filepath.Join(caDir, "server.key"),
		"--enroll-ca", caDir)
	for _, d := range []struct{ id, token string }{{"Device_1", "d1"}, {"Device_2", "d2"}} {
		tethertest.DialWS(t, fmt.Sprintf("wss://127.0.0.1:%d/%s", h.devPort, d.id), tethertest.WSOptions{
			TLS: trusting(t, filepath.Join(caDir, "ca.crt")), Header: http.Header{"Authorization": {"Bearer " + d.token}}})
	}
	shots := filepath.Join(t.TempDir(), "access")
	out := tethertest.Browser(t, "hub-access.mjs", fmt.Sprintf("https://127.0.0.1:%d/", h.pagePort), shots)
	if !strings.Contains(out, "hub access flow ok") {
		t.Fatalf("browser: %s", out)
	}
	for _, s := range []string{"-alice.png", "-enroll.png"} {
		if _, err := os.Stat(shots + s); err != nil {
			t.Errorf("screenshot %s: %v", s, err)
		}
	}
	tethertest.KeepScreenshot(t, shots+"-enroll.png", "hub-enroll.png")
}

// TestEnrollFromTheDevicePageInBrowser: the field on the device's own page does
// what tether device enroll does. In Chromium, logged in with the device
// password, a code the hub does not know is refused next to Enroll with
// app.json unchanged; the enrollment URI an operator made is taken, the
// device restarts and calls the hub home over mTLS with the certificate it
// got (no token), and a page drives it through the hub. The code never
// reaches the device's log or the hub's.
func TestEnrollFromTheDevicePageInBrowser(t *testing.T) {
	h, caDir, auditLog := enrollHub(t)
	uri := makeCode(t, h, caDir, "--device", "Device_1")
	ticket, err := enroll.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	httpPort := tethertest.FreePort(t)
	// home: nobody there; "auth": "strict", since the browser runs as the
	// device's user on loopback, which "on" lets in without a login
	root := tethertest.SeedRootApp(t, tethertest.StrictAuth(tethertest.SeedApp("demo", httpPort, tethertest.FreePort(t), tethertest.FreePort(t), 0)))
	before, _ := os.ReadFile(filepath.Join(root, "app.json"))
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	dev.WaitOutput("demo serving", 30*time.Second)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the device's page without the password: %s, want 401", resp.Status)
	}

	bad, shots := "AAAA-BBBB-CCCC-DDDD", filepath.Join(t.TempDir(), "enroll")
	out := tethertest.Browser(t, "device-enroll.mjs", fmt.Sprintf("http://127.0.0.1:%d/", httpPort), uri, bad, ticket.Hub, ticket.Pin, shots)
	if !strings.Contains(out, "device enroll flow ok") || !strings.Contains(out, "refused: device says: enroll: the hub refused (403 Forbidden): enrollment refused: unknown code") {
		t.Fatalf("browser:\n%s", out)
	}
	if !strings.Contains(out, "result: enrolled Device_1 with "+ticket.Hub) {
		t.Errorf("the page showed no result naming the hub:\n%s", out)
	}
	tethertest.KeepScreenshot(t, shots+"-enrolled.png", "device-enroll.png")

	h.WaitOutput("device connected", 30*time.Second)
	app, _ := os.ReadFile(filepath.Join(root, "app.json"))
	if bytes.Equal(app, before) || !strings.Contains(string(app), `"cert": "certs/hub-client.crt"`) || strings.Contains(string(app), `"token"`) {
		t.Fatalf("app.json after enrolling from the page:\n%s", app)
	}
	ws := tethertest.DialWS(t, fmt.Sprintf("wss://127.0.0.1:%d/Device_1", h.pagePort), tethertest.WSOptions{
		TLS: trusting(t, filepath.Join(caDir, "ca.crt")), Header: http.Header{"Authorization": {"Bearer root"}}})
	ws.Send(`["CMD", "start_interface", []]`)
	ws.ExpectKey("fake_interface/running", true)

	b, _ := os.ReadFile(auditLog)
	for _, want := range []string{`"who":"device Device_1"`, `"action":"enroll","allowed":true`, `"reason":"enrollment refused: unknown code"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("audit log lacks %s:\n%s", want, b)
		}
	}
	code := strings.ReplaceAll(ticket.Code, "-", "")
	devLog, _ := os.ReadFile(filepath.Join(root, "tether.log"))
	for name, text := range map[string]string{"device log": dev.Output() + string(devLog), "hub log": h.Output(), "audit log": string(b)} {
		if strings.Contains(strings.ReplaceAll(text, "-", ""), code) {
			t.Errorf("the %s holds the code %s", name, ticket.Code)
		}
	}
	if !strings.Contains(dev.Output(), "enrolled with a hub: calling home with the certificate it signed") {
		t.Errorf("the device does not log its enrollment:\n%s", dev.Output())
	}
}
