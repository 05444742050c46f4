package hub

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tether/internal/artifact"
	"tether/internal/hub/audit"
	"tether/internal/relaylog"
	"tether/internal/tethertest"
)

// packed is a small signed app artifact.
func packed(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.py"), []byte("print(1)\n"), 0o644)
	var b bytes.Buffer
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	if _, err := artifact.PackApp(&b, dir, artifact.PackOptions{Name: "weather", Version: "2", Key: key}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func send(t *testing.T, method, url string, hdr http.Header, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUpdateAPINeedsAdmin: uploading and rolling out need admin on the
// devices; a device downloads an artifact with its own token, by ranges.
func TestUpdateAPINeedsAdmin(t *testing.T) {
	a, err := ParseAuth([]byte(grantsAuth), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	al, err := audit.Open(relaylog.Options{Path: auditPath})
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	h := startHub(t, Options{Auth: a, UpdateDir: t.TempDir(), Audit: al})
	art := packed(t)
	if code, body := send(t, "POST", h.httpURL+"/api/artifacts", bearerHeader("drive-d1"), art); code != http.StatusForbidden || !strings.Contains(body, "needs admin") {
		t.Fatalf("upload by a driver: %d %s, want 403", code, body)
	}
	if code, _ := send(t, "POST", h.httpURL+"/api/artifacts", nil, art); code != http.StatusUnauthorized {
		t.Fatalf("upload without a token: %d, want 401", code)
	}
	code, body := send(t, "POST", h.httpURL+"/api/artifacts", bearerHeader("root"), art)
	var stored struct{ SHA256 string }
	json.Unmarshal([]byte(body), &stored)
	if code != http.StatusCreated || stored.SHA256 == "" {
		t.Fatalf("upload by root: %d %s", code, body)
	}
	if code, body := send(t, "POST", h.httpURL+"/api/artifacts", bearerHeader("root"), art[:len(art)/2]); code != http.StatusBadRequest || !strings.Contains(body, "not a whole artifact") {
		t.Fatalf("upload of half an artifact: %d %s, want 400", code, body)
	}

	spec := func(ids ...string) []byte {
		b, _ := json.Marshal(map[string]any{"artifact": stored.SHA256, "devices": ids})
		return b
	}
	if code, body := send(t, "POST", h.httpURL+"/api/rollouts", bearerHeader("drive-d1"), spec("Device_1")); code != http.StatusForbidden {
		t.Fatalf("rollout by a driver: %d %s, want 403", code, body)
	}
	if code, body := send(t, "POST", h.httpURL+"/api/rollouts", bearerHeader("drive-d1"), spec("Device_1", "Device_2")); code != http.StatusForbidden ||
		!strings.Contains(body, "lacks it on Device_1, 1 devices it may not view") || strings.Contains(body, "Device_2") {
		t.Fatalf("rollout by a driver to a device it may not view: %d %s, want 403 not naming it", code, body)
	}
	code, body = send(t, "POST", h.httpURL+"/api/rollouts", bearerHeader("root"), spec("Device_1", "Device_2"))
	var ro struct{ ID string }
	if json.Unmarshal([]byte(body), &ro); code != http.StatusCreated || ro.ID == "" {
		t.Fatalf("rollout by root: %d %s", code, body)
	}
	if code, body := send(t, "POST", h.httpURL+"/api/rollouts/"+ro.ID+"/pause", bearerHeader("drive-d1"), nil); code != http.StatusForbidden {
		t.Fatalf("pause by a driver: %d %s, want 403", code, body)
	}
	for _, action := range []string{"pause", "resume", "abort"} {
		if code, body := send(t, "POST", h.httpURL+"/api/rollouts/"+ro.ID+"/"+action, bearerHeader("root"), nil); code != http.StatusOK {
			t.Fatalf("%s by root: %d %s", action, code, body)
		}
	}

	var actions []string
	for _, e := range readAudit(t, auditPath) {
		actions = append(actions, fmt.Sprintf("%s %s %s %v", e.Who, e.Device, e.Action, e.Allowed))
	}
	root := "token sha256:" + sha("root")[7:15]
	wantAudit := []string{"d1-driver  artifact upload false", root + "  artifact upload true",
		"d1-driver Device_1 rollout start false", "d1-driver Device_1 rollout start false", "d1-driver Device_2 rollout start false",
		root + " Device_1 rollout start true", root + " Device_2 rollout start true",
		"d1-driver Device_1 rollout pause false", "d1-driver Device_2 rollout pause false"}
	for _, action := range []string{"pause", "resume", "abort"} {
		wantAudit = append(wantAudit, root+" Device_1 rollout "+action+" true", root+" Device_2 rollout "+action+" true")
	}
	if !slices.Equal(actions, wantAudit) {
		t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(wantAudit, "\n"))
	}

	// A credential sees a rollout with the devices it may view only.
	code, body = send(t, "GET", h.httpURL+"/api/rollouts", bearerHeader("drive-d1"), nil)
	if code != http.StatusOK || !strings.Contains(body, `"Device_1"`) || strings.Contains(body, "Device_2") {
		t.Fatalf("GET /api/rollouts by Device_1's driver: %d %s; want the rollout with Device_1 only", code, body)
	}
	if _, body := send(t, "GET", h.httpURL+"/api/rollouts", bearerHeader("root"), nil); !strings.Contains(body, "Device_2") {
		t.Fatalf("GET /api/rollouts by root: %s; want both devices", body)
	}

	url := strings.Replace(h.devURL, "ws://", "http://", 1) + "Device_1/artifacts/" + stored.SHA256
	if code, _ := send(t, "GET", url, nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("download without the device's token: %d, want 401", code)
	}
	if code, _ := send(t, "GET", url, bearerHeader("d2"), nil); code != http.StatusUnauthorized {
		t.Fatalf("download as Device_1 with Device_2's token: %d, want 401", code)
	}
	hdr := bearerHeader("d1")
	hdr.Set("Range", "bytes=100-")
	code, got := send(t, "GET", url, hdr, nil)
	if code != http.StatusPartialContent || got != string(art[100:]) {
		t.Fatalf("ranged download: %d, %d bytes; want 206 and %d bytes", code, len(got), len(art)-100)
	}
	if code, _ := send(t, "GET", strings.Replace(url, stored.SHA256, strings.Repeat("0", 64), 1), bearerHeader("d1"), nil); code != http.StatusNotFound {
		t.Fatalf("download of an unknown artifact: %d, want 404", code)
	}
}

// TestRolloutSelectsByLabels: --select picks every device the hub knows
// carrying the label, set by the operator (the auth file) or reported by
// the device (network.json's device.labels); the list is frozen when the
// rollout starts: a device that takes the label later is not pulled in,
// and the canary, online, is sent CMD update with the rollout's id.
func TestRolloutSelectsByLabels(t *testing.T) {
	a, err := ParseAuth([]byte(`{"devices": {"Device_1": {"token": "d1", "labels": ["site=berlin"]},
		"Device_2": {"token": "d2"}, "Device_3": {"token": "d3"}}, "pages": [{"token": "root"}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, Options{Auth: a, UpdateDir: t.TempDir(), RolloutInterval: 50 * time.Millisecond})
	d1 := dial(t, h.devURL+"Device_1", bearerHeader("d1"))
	d1.Send(`{"iam": "Device_1"}`)
	d2 := dial(t, h.devURL+"Device_2", bearerHeader("d2"))
	d2.Send(`{"iam": "Device_2", "labels": ["site=berlin"]}`)
	d3 := dial(t, h.devURL+"Device_3", bearerHeader("d3"))
	d3.Send(`{"iam": "Device_3", "labels": ["site=paris"]}`)
	waitFor(t, "Device_2's own label", func() bool { return slices.Contains(h.labelsOf("Device_2"), "site=berlin") })

	_, body := send(t, "POST", h.httpURL+"/api/artifacts", bearerHeader("root"), packed(t))
	var stored struct{ SHA256 string }
	json.Unmarshal([]byte(body), &stored)
	spec, _ := json.Marshal(map[string]any{"artifact": stored.SHA256, "select": []string{"site=berlin"}, "canary": 1})
	code, body := send(t, "POST", h.httpURL+"/api/rollouts", bearerHeader("root"), spec)
	var ro struct {
		ID      string   `json:"id"`
		Devices []string `json:"devices"`
	}
	json.Unmarshal([]byte(body), &ro)
	if got := slices.Sorted(slices.Values(ro.Devices)); code != http.StatusCreated || !slices.Equal(got, []string{"Device_1", "Device_2"}) {
		t.Fatalf("rollout to site=berlin: %d %s; want Device_1 (the operator's label) and Device_2 (its own)", code, body)
	}
	canary := map[string]*tethertest.WS{"Device_1": d1, "Device_2": d2}[ro.Devices[0]]
	canary.Expect("CMD update", func(s string) bool {
		return strings.HasPrefix(s, `["CMD","update",["`+stored.SHA256+`",`) && strings.Contains(s, ro.ID)
	})

	d3.Send(`{"iam": "Device_3", "labels": ["site=berlin"]}`)
	waitFor(t, "Device_3's new label", func() bool { return slices.Contains(h.labelsOf("Device_3"), "site=berlin") })
	_, body = send(t, "GET", h.httpURL+"/api/rollouts/"+ro.ID, bearerHeader("root"), nil)
	json.Unmarshal([]byte(body), &ro)
	if len(ro.Devices) != 2 || slices.Contains(ro.Devices, "Device_3") {
		t.Fatalf("after Device_3 took the label: devices %v, want the two the rollout started with", ro.Devices)
	}
}
