package hub

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Password hashes (bcrypt, cost 10) of the grants tests' users.
const (
	alicePassword = "alice-password"
	aliceHash     = "$2a$10$UoH7GZGacCrkzFr8oZeHqubuRAd6Y.nQ5c53Il1k9rfj8J4qXkFqG"
	bobPassword   = "bob-password"
	bobHash       = "$2a$10$uQgSByADpIz3e9BmpzWJielwDg.stSPIkEtWTh/hFcnDNeQK.w8nO"
)

// grantsAuth: page tokens for one device (drive), for every device (view)
// and for everything (no grants); users alice (admin on label floor2 and
// Device_1) and bob (view on Device_2).
var grantsAuth = `{
  "devices": {"Device_1": {"token": "d1"}, "Device_2": {"token": "d2"}, "Device_3": {"token": "d3", "labels": ["floor2"]}},
  "pages": [
    {"token": "drive-d1", "name": "d1-driver", "grants": [{"devices": ["Device_1"], "verbs": ["drive"]}]},
    {"token": "` + sha("viewer") + `", "grants": [{"devices": ["*"], "verbs": ["view"]}]},
    {"token": "root"}
  ],
  "users": {
    "alice": {"password": "` + aliceHash + `", "grants": [{"devices": ["label:floor2", "Device_1"], "verbs": ["admin"]}]},
    "bob":   {"password": "` + bobHash + `", "grants": [{"devices": ["Device_2"], "verbs": ["view"]}]}
  }
}`

func grantsHub(t *testing.T) *testHub {
	t.Helper()
	a, err := ParseAuth([]byte(grantsAuth), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a})
	h.pageToken = "root"
	return h
}

func TestPageTokenForOneDeviceCannotOpenAnother(t *testing.T) {
	h := grantsHub(t)
	dial(t, h.devURL+"Device_2", bearerHeader("d2"))
	if code := dialStatus(t, h.pageURL+"Device_2", bearerHeader("drive-d1")); code != http.StatusForbidden {
		t.Fatalf("page of Device_2 with Device_1's token: %d, want 403", code)
	}
	if n := counterValue(t, h, `tether_hub_auth_failures_total{endpoint="page",reason="no_grant"}`); n != 1 {
		t.Fatalf("no_grant refusals counted %v, want 1", n)
	}
	if code := dialStatus(t, h.pageURL+"Device_1", bearerHeader("drive-d1")); code != http.StatusSwitchingProtocols {
		t.Fatalf("page of Device_1 with its token: %d, want 101", code)
	}
}

func TestDrivePageRefusedAdminItems(t *testing.T) {
	h := grantsHub(t)
	dev := dial(t, h.devURL+"Device_1", bearerHeader("d1"))
	p := dial(t, h.pageURL+"Device_1", bearerHeader("drive-d1"))
	p.Expect("online", hasKey("hub/device/connected", true))
	p.Send(`["CMD", "restart", []]`)
	msg := p.Expect("refusal", hasKey("error", nil))
	if !strings.Contains(msg, "refused: CMD restart needs admin on Device_1; d1-driver may only drive it") {
		t.Fatalf("refusal = %s", msg)
	}
	p.Send(`["GET", "wifi", []]`)
	if _, got := dev.Read(); got != `["GET", "wifi", []]` {
		t.Fatalf("device got %q, want the GET wifi (and never the restart)", got)
	}
	p.SendBinary([]byte(`["CMD", "restart", []]`))
	p.Expect("binary refused", func(s string) bool { return strings.Contains(s, "refused: a binary message needs admin") })
	if n := counterValue(t, h, `tether_hub_refused_messages_total{needs="admin"}`); n != 2 {
		t.Fatalf("refused admin messages counted %v, want 2", n)
	}
}

func TestViewOnlyPageKeepsReceiving(t *testing.T) {
	h := grantsHub(t)
	dev := dial(t, h.devURL+"Device_2", bearerHeader("d2"))
	p := dial(t, h.pageURL+"Device_2", bearerHeader("viewer"))
	p.Expect("online", hasKey("hub/device/connected", true))
	p.Send(`["GET", "wifi", []]`)
	msg := p.Expect("refusal", hasKey("error", nil))
	if !strings.Contains(msg, "refused: GET wifi needs drive on Device_2; token sha256:") || !strings.Contains(msg, "may only view it") {
		t.Fatalf("refusal = %s", msg)
	}
	dev.Send(`{"temp": 21}`)
	p.ExpectExact(`{"temp": 21}`)
	if n := counterValue(t, h, `tether_hub_refused_messages_total{needs="drive"}`); n != 1 {
		t.Fatalf("refused drive messages counted %v, want 1", n)
	}
}

// userGet logs in as user and GETs path with the session.
func userGet(t *testing.T, h *testHub, user, password, path string) (int, string) {
	t.Helper()
	resp := postLogin(t, h, nil, url.Values{"user": {user}, "password": {password}}, "")
	return get(t, h.httpURL+path, http.Header{"Cookie": {sessionOf(t, resp)}})
}

func deviceIDs(t *testing.T, body string) []string {
	t.Helper()
	var ds []DeviceInfo
	if err := json.Unmarshal([]byte(body), &ds); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestUsersSeeOnlyTheirDevices(t *testing.T) {
	h := grantsHub(t)
	for _, id := range []string{"Device_1", "Device_2", "Device_3"} {
		dial(t, h.devURL+id, bearerHeader("d"+id[len(id)-1:]))
	}
	waitFor(t, "three devices", func() bool { return len(h.Devices()) == 3 })
	tests := []struct {
		user, password string
		want           []string
	}{
		{"alice", alicePassword, []string{"Device_1", "Device_3"}},
		{"bob", bobPassword, []string{"Device_2"}},
	}
	for _, tt := range tests {
		code, body := userGet(t, h, tt.user, tt.password, "/api/devices")
		if got := deviceIDs(t, body); code != 200 || !slices.Equal(got, tt.want) {
			t.Errorf("%s: /api/devices = %d %v, want %v", tt.user, code, got, tt.want)
		}
		if code, _ := userGet(t, h, tt.user, tt.password, "/metrics"); code != http.StatusForbidden {
			t.Errorf("%s: /metrics = %d, want 403", tt.user, code)
		}
	}
	if code, _ := userGet(t, h, "bob", bobPassword, "/api/devices/Device_1"); code != http.StatusNotFound {
		t.Errorf("bob: /api/devices/Device_1 = %d, want 404", code)
	}
	if code, body := userGet(t, h, "alice", alicePassword, "/api/devices/Device_3"); code != 200 || !strings.Contains(body, `"floor2"`) {
		t.Errorf("alice: /api/devices/Device_3 = %d %s, want it with its label", code, body)
	}
	if code, body := userGet(t, h, "bob", bobPassword, "/d/Device_1/"); code != http.StatusNotFound {
		t.Errorf("bob: /d/Device_1/ = %d %.80s, want 404", code, body)
	}
	if code, body := get(t, h.httpURL+"/api/devices", bearerHeader("drive-d1")); !slices.Equal(deviceIDs(t, body), []string{"Device_1"}) {
		t.Errorf("Device_1's token: /api/devices = %d %s", code, body)
	}
	if _, body := get(t, h.httpURL+"/api/devices", bearerHeader("root")); len(deviceIDs(t, body)) != 3 {
		t.Errorf("the token without grants sees %s, want all three", body)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	h := grantsHub(t)
	for _, form := range []url.Values{
		{"user": {"alice"}, "password": {bobPassword}},
		{"user": {"carol"}, "password": {alicePassword}},
		{"user": {"alice"}, "password": {aliceHash}},
	} {
		resp := postLogin(t, h, nil, form, "")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?failed=1") {
			t.Errorf("login %v went to %q, want back to the form", form, loc)
		}
	}
}

func TestParseAuthGrantErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{`{"pages": [{"token": "t", "grants": [{"devices": ["*"], "verbs": ["read"]}]}]}`, `auth.json: pages[0].grants[0].verbs[0]: unknown verb "read"`},
		{`{"users": {"a": {"password": "secret", "grants": []}}}`, "auth.json: users.a.password: want a bcrypt hash"},
		{`{"users": {"a": {"password": "$2a$04$abcdefghijklmnopqrstuuJ4Crg8H5qnZ5Ou1HsLuMBNKhdTdk7ES", "grants": []}}}`, "users.a.password: bcrypt cost 4, want at least 10"},
		{`{"users": {"a": {"password": "` + aliceHash + `"}}}`, "users.a.grants: missing"},
		{`{"devices": {"d": {"token": "t", "labels": ["a b"]}}}`, "devices.d.labels[0]: label \"a b\""},
	}
	for _, tt := range tests {
		_, err := ParseAuth([]byte(tt.file), "auth.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAuth(%s) = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestReportedLabelsCountForGrants(t *testing.T) {
	a, err := ParseAuth([]byte(`{"devices": {"Device_9": {"token": "d9"}},
		"pages": [{"token": "floor2", "grants": [{"devices": ["label:floor2"], "verbs": ["view"]}]}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a})
	if code := dialStatus(t, h.pageURL+"Device_9", bearerHeader("floor2")); code != http.StatusForbidden {
		t.Fatalf("page before the device said its labels: %d, want 403", code)
	}
	dev := dial(t, h.devURL+"Device_9", bearerHeader("d9"))
	dev.Send(`{"iam": "Device_9", "labels": ["floor2", "bad label"]}`)
	waitFor(t, "the labels in the shadow", func() bool { return len(h.labelsOf("Device_9")) == 1 })
	p := dial(t, h.pageURL+"Device_9", bearerHeader("floor2"))
	p.Expect("online", hasKey("hub/device/connected", true))
	if _, body := get(t, h.httpURL+"/api/devices", bearerHeader("floor2")); !strings.Contains(body, `"labels": [
      "floor2"
    ]`) {
		t.Fatalf("/api/devices = %s", body)
	}
}

func TestSampleAuthFileLoads(t *testing.T) {
	if _, err := LoadAuth("../../deploy/auth.sample.json"); err != nil {
		t.Fatal(err)
	}
}
