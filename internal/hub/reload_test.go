package hub

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// fileHub serves a hub whose auth file is a real file the test rewrites.
func fileHub(t *testing.T, auth string) (*testHub, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.json")
	writeAuth(t, path, auth)
	h := startHub(t, Options{AuthFile: path})
	return h, path
}

// writeAuth replaces the auth file as an editor would: a new file renamed
// into place.
func writeAuth(t *testing.T, path, auth string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// closedWithin reads c until it closes and checks code and reason, and
// that it closed within d of since.
func closedWithin(t *testing.T, c *tethertest.WS, since time.Time, d time.Duration, code int, reason string) {
	t.Helper()
	got, why := c.CloseStatus()
	if took := time.Since(since); took > d {
		t.Errorf("closed %v after the change, want within %v", took, d)
	}
	if got != code || why != reason {
		t.Fatalf("closed with %d %q, want %d %q", got, why, code, reason)
	}
}

const reloadAuthA = `{"devices": {"d1": {"token": "d1"}},
  "pages": [{"token": "a", "name": "a", "grants": [{"devices": ["d1"], "verbs": ["drive"]}]},
            {"token": "b", "name": "b", "grants": [{"devices": ["d1"], "verbs": ["drive"]}]},
            {"token": "c", "name": "c", "grants": [{"devices": ["d1"], "verbs": ["view"]}]},
            {"token": "root"}],
  "users": {"alice": {"password": "` + aliceHash + `", "grants": [{"devices": ["*"], "verbs": ["view"]}]}}}`

// reloadAuthB drops token a and alice, narrows b to view and takes c's
// view away.
const reloadAuthB = `{"devices": {"d1": {"token": "d1"}},
  "pages": [{"token": "b", "name": "b", "grants": [{"devices": ["d1"], "verbs": ["view"]}]},
            {"token": "c", "name": "c", "grants": [{"devices": ["d2"], "verbs": ["view"]}]},
            {"token": "root"}]}`

func TestAuthReloadRevokesAndNarrows(t *testing.T) {
	h, path := fileHub(t, reloadAuthA)
	h.pageToken = "root"
	dev := dial(t, h.devURL+"d1", bearerHeader("d1"))
	pa := dial(t, h.pageURL+"d1", bearerHeader("a"))
	pb := dial(t, h.pageURL+"d1", bearerHeader("b"))
	pc := dial(t, h.pageURL+"d1", bearerHeader("c"))
	cookie := sessionOf(t, postLogin(t, h, nil, url.Values{"user": {"alice"}, "password": {alicePassword}}, ""))
	for _, p := range []*tethertest.WS{pa, pb, pc} {
		p.Expect("online", hasKey("hub/device/connected", true))
	}
	pb.Send(`["GET", "wifi", []]`)
	if _, got := dev.Read(); got != `["GET", "wifi", []]` {
		t.Fatalf("device got %q", got)
	}

	changed := time.Now()
	writeAuth(t, path, reloadAuthB)
	closedWithin(t, pa, changed, time.Second, codeRevoked, "credentials revoked")
	closedWithin(t, pc, changed, time.Second, codeRevoked, "access revoked: no view grant for this device")
	pb.Send(`["GET", "wifi", []]`)
	if msg := pb.Expect("refusal", hasKey("error", nil)); !strings.Contains(msg, "needs drive on d1; b may only view it") {
		t.Fatalf("narrowed page got %s", msg)
	}
	dev.Send(`{"k": 1}`)
	pb.ExpectExact(`{"k": 1}`)
	if code, _ := get(t, h.httpURL+"/api/devices", http.Header{"Cookie": {cookie}}); code != http.StatusUnauthorized {
		t.Errorf("removed user's session: /api/devices = %d, want 401", code)
	}
	if code := dialStatus(t, h.pageURL+"d1", bearerHeader("a")); code != http.StatusUnauthorized {
		t.Errorf("removed token: %d, want 401", code)
	}
	if n := counterValue(t, h, `tether_hub_revoked_connections_total{role="page"}`); n != 2 {
		t.Errorf("revoked pages counted %v, want 2", n)
	}
}

func TestAuthReloadRevokesDevices(t *testing.T) {
	h, path := fileHub(t, `{"devices": {"d1": {"token": "old"}, "d2": {"token": "d2"}}, "pages": [{"token": "root"}]}`)
	h.pageToken = "root"
	d1 := dial(t, h.devURL+"d1", bearerHeader("old"))
	d2 := dial(t, h.devURL+"d2", bearerHeader("d2"))
	p := dial(t, h.pageURL+"d1", bearerHeader("root"))
	p.Expect("online", hasKey("hub/device/connected", true))
	changed := time.Now()
	writeAuth(t, path, `{"devices": {"d1": {"token": "`+sha("new")+`"}, "d2": {"token": "d2"}}, "pages": [{"token": "root"}]}`)
	closedWithin(t, d1, changed, time.Second, codeRevoked, "credentials revoked")
	p.Expect("offline, revoked", hasKey("hub/device/reason", "credentials revoked"))
	d2.Send(`{"still": "here"}`)
	dial(t, h.devURL+"d1", bearerHeader("new"))
	p.Expect("back with the new token", hasKey("hub/device/connected", true))
}

func TestAuthReloadKeepsFileInForceWhenBroken(t *testing.T) {
	h, path := fileHub(t, `{"devices": {"d1": {"token": "d1"}}, "pages": [{"token": "root"}]}`)
	h.pageToken = "root"
	p := dial(t, h.pageURL+"d1", bearerHeader("root"))
	writeAuth(t, path, `{"pages": [{"token": ""}]}`)
	waitFor(t, "the failed reload", func() bool {
		return counterValue(t, h, `tether_hub_auth_reloads_total{result="error"}`) == 1
	})
	dial(t, h.devURL+"d1", bearerHeader("d1"))
	p.Expect("the device still comes in", hasKey("hub/device/connected", true))
	if err := h.ReloadAuth(); err == nil || !strings.Contains(err.Error(), "pages[0].token: empty token") {
		t.Fatalf("ReloadAuth = %v, want the file's error", err)
	}
}

func TestDeviceDroppingALabelClosesItsPages(t *testing.T) {
	a, err := ParseAuth([]byte(`{"devices": {"d9": {"token": "d9"}},
		"pages": [{"token": "floor2", "grants": [{"devices": ["label:floor2"], "verbs": ["drive"]}]}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a})
	dev := dial(t, h.devURL+"d9", bearerHeader("d9"))
	dev.Send(`{"iam": "d9", "labels": ["floor2"]}`)
	waitFor(t, "the labels in the shadow", func() bool { return len(h.labelsOf("d9")) == 1 })
	p := dial(t, h.pageURL+"d9", bearerHeader("floor2"))
	p.Expect("online", hasKey("hub/device/connected", true))
	dev.Send(`{"iam": "d9", "labels": ["floor3"]}`)
	got, why := p.CloseStatus()
	if got != codeRevoked || why != reasonNoView {
		t.Fatalf("closed with %d %q, want %d %q", got, why, codeRevoked, reasonNoView)
	}
}
