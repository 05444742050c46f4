package hub

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tether/internal/hub/audit"
	"tether/internal/relaylog"
)

// readAudit returns the entries of an audit log file.
func readAudit(t *testing.T, path string) []audit.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestAuditLogRecordsAdminActions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	al, err := audit.Open(relaylog.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	a, err := ParseAuth([]byte(grantsAuth), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a, Audit: al})
	h.pageToken = "root"
	dev := dial(t, h.devURL+"Device_1", bearerHeader("d1"))
	root := dial(t, h.pageURL+"Device_1", bearerHeader("root"))
	driver := dial(t, h.pageURL+"Device_1", bearerHeader("drive-d1"))
	root.Expect("online", hasKey("hub/device/connected", true))
	driver.Expect("online", hasKey("hub/device/connected", true))
	root.Send(`["CMD", "apply_config", ["network.json", "{\"sta\": {\"ssid\": \"home\", \"pass\": \"wifi-secret\"}}"]]`)
	dev.Read()
	root.Send(`["GET", "wifi", []]`) // drive: not an admin action
	dev.Read()
	driver.Send(`["CMD", "restart", []]`)
	driver.Expect("refusal", hasKey("error", nil))
	d2 := dial(t, h.devURL+"Device_2", bearerHeader("d2"))
	// known to the hub before it goes, or there is nothing to forget
	waitFor(t, "Device_2 online", func() bool { return len(h.broker.Devices()) == 2 })
	d2.Conn.CloseNow()
	waitFor(t, "Device_2 offline", func() bool { return len(h.broker.Devices()) == 1 })
	req, _ := http.NewRequest("DELETE", h.httpURL+"/api/devices/Device_2", nil)
	req.Header.Set("Authorization", "Bearer root")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := readAudit(t, path)
	if len(got) != 3 {
		t.Fatalf("audit has %d entries, want 3: %+v", len(got), got)
	}
	want := []audit.Entry{
		{Who: "token sha256:" + sha("root")[7:15], Device: "Device_1", Action: "CMD apply_config", Allowed: true, Masked: true},
		{Who: "d1-driver", Device: "Device_1", Action: "CMD restart", Allowed: false, Reason: "needs admin, may only drive"},
		{Who: "token sha256:" + sha("root")[7:15], Device: "Device_2", Action: "forget", Allowed: true},
	}
	for i, w := range want {
		g := got[i]
		if g.Who != w.Who || g.Device != w.Device || g.Action != w.Action || g.Allowed != w.Allowed || g.Reason != w.Reason || g.Masked != w.Masked {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
		if g.Time.IsZero() || !strings.HasPrefix(g.Remote, "127.0.0.1:") {
			t.Errorf("entry %d lacks its time or address: %+v", i, g)
		}
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "wifi-secret") {
		t.Errorf("the audit log holds a secret:\n%s", b)
	}
}
