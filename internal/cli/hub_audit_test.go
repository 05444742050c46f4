package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/hub/access"
	"tether/internal/tethertest"
)

// auditEntry is the part of an audit log line these tests read.
type auditEntry struct {
	Who, Remote, Device, Action, Request, Reason string
	Allowed, Masked                              bool
}

func readAuditFile(t *testing.T, path string) []auditEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestHubBinaryAuditsEveryAdminAction: a page with admin sends every admin
// item to real devices through a real hub, the way the device page and
// tether ws do: the config (read, applied, confirmed, reverted), restart,
// the log (read, followed, unfollowed), WiFi changes, updates, enrollment,
// an app's admin_ item, and recovery's status, save and restart to a
// device in recovery. Each is one line of the audit log: who, from where,
// which device, what, allowed; a driver's refused restart and enrollment
// are lines too. The secrets they carry (the WiFi password, the enrollment
// code, the config's token) are masked. The admin items are listed from the hub's own list,
// so an item added to it without a line here fails the test.
func TestHubBinaryAuditsEveryAdminAction(t *testing.T) {
	dir := t.TempDir()
	auth, auditLog := filepath.Join(dir, "auth.json"), filepath.Join(dir, "audit.log")
	tethertest.WriteFile(t, auth, `{"devices": {"Device_1": {"token": "d1"}, "Device_2": {"token": "d2"}},
		"pages": [{"token": "root", "name": "root"},
		          {"token": "driver", "name": "driver", "grants": [{"devices": ["*"], "verbs": ["drive"]}]}]}`)
	h := startHubProc(t, "--auth", auth, "--audit-file", auditLog)

	withToken := func(app, token string) string {
		return strings.Replace(app, fmt.Sprintf(`"port": %d`, h.devPort), fmt.Sprintf(`"port": %d, "token": %q`, h.devPort, token), 1)
	}
	d1 := tethertest.SeedRootApp(t, withToken(tethertest.SeedApp("demo", tethertest.FreePort(t), tethertest.FreePort(t), h.devPort, tethertest.FreePort(t)), "d1"))
	httpPort := tethertest.FreePort(t)
	d2 := tethertest.SeedRootApp(t, withToken(recoveryApp("nosuchapp", httpPort, h.devPort), "d2"))
	tethertest.WriteFile(t, filepath.Join(d2, "network.json"), strings.Replace(tethertest.SeedNetwork, "Device_1", "Device_2", 1))
	tethertest.Start(t, "device", "--root", d1, "--net", "sim")
	tethertest.Start(t, "device", "--root", d2, "--net", "sim")

	page := func(id, token string) *tethertest.WS {
		ws := tethertest.DialWS(t, fmt.Sprintf("ws://127.0.0.1:%d/%s", h.pagePort, id), tethertest.WSOptions{Header: http.Header{"Authorization": {"Bearer " + token}}})
		ws.Wait = 30 * time.Second
		ws.ExpectKey("hub/device/connected", true)
		return ws
	}
	back := func(ws *tethertest.WS) { // the device restarted: gone, then back
		ws.ExpectKey("hub/device/connected", false)
		ws.ExpectKey("hub/device/connected", true)
	}
	reply := func(ws *tethertest.WS, req string, keys ...string) map[string]any {
		ws.Send(req)
		var got map[string]any
		ws.Expect(req, func(msg string) bool {
			var m map[string]any
			if json.Unmarshal([]byte(msg), &m) != nil {
				return false
			}
			for _, k := range keys {
				if _, ok := m[k]; ok {
					got = m
					return true
				}
			}
			return false
		})
		return got
	}

	p1 := page("Device_1", "root")
	network, _ := os.ReadFile(filepath.Join(d1, "network.json"))
	changed := func(kind string) string {
		b, _ := json.Marshal([]any{"CMD", "apply_config", []any{"network.json", strings.Replace(string(network), `"ESP32"`, `"`+kind+`"`, 1), 30}})
		return string(b)
	}
	reply(p1, `["GET", "config", []]`, "config/file/app.json")
	reply(p1, changed("ESP32-S2"), "info")
	back(p1)
	reply(p1, `["CMD", "confirm_config", []]`, "config/apply/outcome")
	reply(p1, changed("ESP32-S3"), "info")
	back(p1)
	reply(p1, `["CMD", "revert_config", []]`, "info", "error")
	back(p1)
	reply(p1, `["GET", "log", [5]]`, "log/recent")
	reply(p1, `["CMD", "log_subscribe", ["warn"]]`, "log/subscribed")
	reply(p1, `["CMD", "log_unsubscribe", []]`, "log/subscribed")
	reply(p1, `["CMD", "restart", []]`, "info")
	back(p1)
	reply(p1, `["GET", "update", []]`, "update/state")
	reply(p1, `["CMD", "update", ["`+strings.Repeat("ab", 32)+`", 1000]]`, "error", "info")
	reply(p1, `["CMD", "update_rollback", []]`, "error")
	reply(p1, `["CMD", "enroll", ["tether://enroll?code=K7QX-M2PA-9DTR-WJ4H&hub=wss%3A%2F%2F127.0.0.1%3A1"]]`, "error")
	reply(p1, `["CMD", "admin_wipe", []]`, "error")
	reply(p1, `["CMD", "test_new_sta", ["nowhere", "wifi-secret-1"]]`, "wifi/test/result", "error")
	reply(p1, `["CMD", "store_new_sta", ["nowhere", "wifi-secret-2"]]`, "wifi/store/result", "error")
	drv := page("Device_1", "driver")
	reply(drv, `["CMD", "restart", []]`, "error")
	if e := reply(drv, `["CMD", "enroll", ["K7QX-M2PA-9DTR-WJ4H", "wss://127.0.0.1:1"]]`, "error"); !strings.Contains(fmt.Sprint(e["error"]), "refused: CMD enroll needs admin on Device_1") {
		t.Errorf("a driver's CMD enroll: %v, want refused", e)
	}

	p2 := page("Device_2", "root")
	status := reply(p2, `["GET", "status", []]`, "recovery/file/app.json", "error")
	if _, ok := status["recovery/file/app.json"]; !ok {
		t.Fatalf("Device_2 is not in recovery: %v", status)
	}
	fixed, _ := json.Marshal([]any{"CMD", "save_config", []any{"app.json", withToken(recoveryApp("demo", httpPort, h.devPort), "d2")}})
	reply(p2, string(fixed), "info", "error")
	reply(p2, `["CMD", "restart", []]`, "info", "error")
	back(p2)

	var entries []auditEntry
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if entries = readAuditFile(t, auditLog); len(entries) >= 21 || time.Now().After(end) {
			break
		}
	}
	byAction := map[string]auditEntry{}
	var lines []string
	for _, e := range entries {
		lines = append(lines, fmt.Sprintf("%s %s %s %v %s", e.Who, e.Device, e.Action, e.Allowed, e.Reason))
		if e.Who == "root" && e.Allowed && e.Reason == "" && strings.HasPrefix(e.Remote, "127.0.0.1:") {
			byAction[e.Device+" "+e.Action] = e
		}
	}
	log := strings.Join(lines, "\n")
	for _, want := range []string{"GET config", "CMD apply_config", "CMD confirm_config", "CMD revert_config", "GET log",
		"CMD log_subscribe", "CMD log_unsubscribe", "CMD restart", "GET update", "CMD update", "CMD update_rollback",
		"CMD enroll", "CMD admin_wipe", "CMD test_new_sta", "CMD store_new_sta"} {
		if _, ok := byAction["Device_1 "+want]; !ok {
			t.Errorf("no audit line for root's %s to Device_1", want)
		}
	}
	for _, want := range []string{"GET status", "CMD save_config", "CMD restart"} {
		if _, ok := byAction["Device_2 "+want]; !ok {
			t.Errorf("no audit line for root's %s to Device_2 in recovery", want)
		}
	}
	for _, item := range []string{"restart", "enroll"} {
		if !strings.Contains(log, "driver Device_1 CMD "+item+" false needs admin, may only drive") {
			t.Errorf("no audit line for the driver's refused %s", item)
		}
	}
	for _, item := range access.AdminItems() { // every admin item the hub knows has its line above
		prefix, isPrefix := strings.CutSuffix(item, "*")
		found := false
		for k := range byAction {
			_, action, _ := strings.Cut(k, " ")
			_, name, _ := strings.Cut(action, " ")
			found = found || name == item || isPrefix && strings.HasPrefix(name, prefix)
		}
		if !found {
			t.Errorf("admin item %q: no audit line (send it above)", item)
		}
	}
	for _, k := range []string{"Device_1 CMD enroll", "Device_1 CMD store_new_sta", "Device_1 CMD test_new_sta", "Device_2 CMD save_config"} {
		if e := byAction[k]; !e.Masked {
			t.Errorf("%s: not masked: %+v", k, e)
		}
	}
	b, _ := os.ReadFile(auditLog)
	for _, secret := range []string{"wifi-secret-1", "wifi-secret-2", "K7QX", `\"d2\"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the audit log holds %s:\n%s", secret, b)
		}
	}
	if t.Failed() {
		t.Logf("audit log:\n%s", log)
	}
}
