package integration

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/devauth"
	"tether/internal/tethertest"
)

// TestChangePasswordOnThePageInBrowser: the device password is changed on
// the device's own page in Chromium, with the real binary ("auth":
// "strict": the browser and this test run as the device's user on
// loopback, which "on" trusts without a password). A script and another
// browser are logged in with the old password first. On the form a wrong
// current password, a repetition that differs and a too-short new
// password are refused, each with its message; then the change: the
// browser that made it stays logged in, the other one's login and the
// script's session end, and so do the command API connections the old
// password opened (closed 4001; the other browser's page shows the login
// form by itself), the old password is refused (401) to a bearer script
// and on the login form, and the new one works for both.
func TestChangePasswordOnThePageInBrowser(t *testing.T) {
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	root := tethertest.SeedRootApp(t, tethertest.StrictAuth(tethertest.SeedApp("demo", h, w, tethertest.FreePort(t), tethertest.FreePort(t))))
	dev := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	tethertest.WaitPort(t, addr(w), 30*time.Second)
	page := "http://" + addr(h) + "/"
	plain := client(t, "", false)
	oldBearer := []string{"Authorization", "Bearer " + tethertest.DevicePassword}
	if code, _ := call(t, plain, "GET", page, nil); code != 401 {
		t.Fatalf("the page without the password: %d, want 401", code)
	}
	script := client(t, "", true)
	if code, _ := call(t, script, "POST", page+"tether/login", url.Values{"password": {tethertest.DevicePassword}}); code != 303 {
		t.Fatalf("a script's login: %d, want 303", code)
	}
	cookie := cookieOf(t, script, page)
	// Connections of the command API open with the old password: the
	// script's session, and the bearer password.
	live := map[string]*tethertest.WS{
		"session": tethertest.DialWS(t, "ws://"+addr(w)+"/", tethertest.WSOptions{Header: http.Header{
			"Cookie": {strings.TrimPrefix(cookie, "Cookie: ")}, "Origin": {"http://" + addr(h)}}}),
		"bearer": tethertest.DialWS(t, "ws://"+addr(w)+"/", tethertest.WSOptions{Header: tethertest.DeviceAuth()}),
	}
	hashBefore, _ := os.ReadFile(filepath.Join(root, "device.passwd"))

	const newPW = "changed on the page"
	shots := filepath.Join(t.TempDir(), "password")
	out := tethertest.Browser(t, "device-password.mjs", page, newPW, shots)
	for _, want := range []string{
		"form reached from the page",
		"wrong current: old password: unauthorized: wrong device password",
		"differ: the new password and its repetition differ",
		"too short held by the form: true",
		"too short: new password: ",
		"changed: Password changed. Other browsers and scripts need the new one.",
		"this browser still logged in",
		"other browser asked to log in again",
		"old password: unauthorized: wrong device password",
		"new password logs in",
		"device password flow ok",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("browser did not say %q:\n%s", want, out)
		}
	}

	for how, ws := range live {
		ws.Wait = 5 * time.Second
		if code, reason := ws.CloseStatus(); code != devauth.CodePasswordChanged || reason != "device password changed: log in again" {
			t.Errorf("the command API connection of the old password (%s): closed %d %q, want 4001", how, code, reason)
		}
	}
	if code, _ := call(t, plain, "GET", page, nil, oldBearer...); code != 401 {
		t.Errorf("the old password as a bearer after the change: %d, want 401", code)
	}
	if code, _ := rawHandshake(t, addr(w), "/", "Authorization: Bearer "+tethertest.DevicePassword); code != 401 {
		t.Errorf("the command API with the old password: %d, want 401", code)
	}
	if code, _ := call(t, plain, "GET", page, nil, "Cookie", strings.TrimPrefix(cookie, "Cookie: ")); code != 401 {
		t.Errorf("the script's session of the old password: %d, want 401", code)
	}
	if code, _ := call(t, plain, "GET", page, nil, "Authorization", "Bearer "+newPW); code != 200 {
		t.Errorf("the new password as a bearer: %d, want 200", code)
	}
	c := dialRaw(t, addr(w), "/", "Authorization: Bearer "+newPW)
	c.waitText(`"iam":"Device_1"`, 10*time.Second)
	c.c.Close()
	fresh := client(t, "", true)
	if code, _ := call(t, fresh, "POST", page+"tether/login", url.Values{"password": {newPW}}); code != 303 {
		t.Errorf("a fresh login with the new password: %d, want 303", code)
	}
	if code, _ := call(t, fresh, "GET", page, nil); code != 200 {
		t.Errorf("the page after a fresh login: %d", code)
	}
	if hashAfter, _ := os.ReadFile(filepath.Join(root, "device.passwd")); string(hashAfter) == string(hashBefore) || strings.Contains(string(hashAfter), newPW) {
		t.Errorf("device.passwd after the change: %q", hashAfter)
	}
	dev.WaitOutput("device password changed on the device's page: every session ended", 5*time.Second)
	if strings.Contains(dev.Output(), newPW) {
		t.Error("the device's log holds the new password")
	}
}
