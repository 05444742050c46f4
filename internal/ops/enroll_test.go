package ops_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/hub"
	"tether/internal/ops"
	"tether/internal/tethertest"
)

// enrollHub serves a real hub with enrollment on (its CA signs its own
// certificate and the devices') and returns a function that makes a code
// for Device_1 as an operator does (POST /api/enroll).
func enrollHub(t *testing.T) func() hub.CodeInfo {
	t.Helper()
	ca, tc := tethertest.LocalCA(t)
	auth, err := hub.ParseAuth([]byte(`{"devices": {}, "pages": [{"token": "root"}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Options{Auth: auth, TLS: &tls.Config{Certificates: []tls.Certificate{tc}}, EnrollCA: ca,
		EnrollFile: filepath.Join(t.TempDir(), "enrolled.json"), Logger: slog.New(slog.DiscardHandler)})
	devLn, _ := net.Listen("tcp", "127.0.0.1:0")
	pageLn, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.Serve(ctx, devLn, pageLn) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return func() hub.CodeInfo {
		t.Helper()
		req, _ := http.NewRequest("POST", "https://"+pageLn.Addr().String()+"/api/enroll", strings.NewReader(`{"device": "Device_1"}`))
		req.Header.Set("Authorization", "Bearer root")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var info hub.CodeInfo
		if resp.StatusCode != 200 || json.Unmarshal(b, &info) != nil {
			t.Fatalf("POST /api/enroll: %s %s", resp.Status, b)
		}
		return info
	}
}

// CMD enroll, in process against a real hub: bad arguments are named; a
// change in its confirm window refuses it before the code is sent (so the
// code is not spent); then it writes the key, the certificate and the
// hub's CA, applies app.json's home calling the hub with them (no token
// for another hub any more) as a change in its window, and restarts the
// device; the same code again is refused, and a new one enrolls it again.
func TestEnrollItem(t *testing.T) {
	makeCode := enrollHub(t)
	code := makeCode()
	app := strings.Replace(tethertest.SeedApp("demo", 8080, 8080, 7770, 7777), `"home": {`, `"home": {"token": "old-hub-token",`, 1)
	root := tethertest.SeedRootApp(t, app)
	sv := serve(t, ops.Options{Root: root, Window: time.Minute})
	c := dial(t, sv.url)
	c.ExpectKey("iam", nil)

	for _, tt := range []struct {
		args []any
		want string
	}{
		{nil, "want arguments [code] (the enrollment URI) or [code, hub, (ca_pin)], got 0"},
		{[]any{code.Code}, "want the hub's device endpoint (wss://HOST:PORT) beside a code"},
		{[]any{code.Code, code.Hub, "sha256:beef"}, "CA pin: want sha256:<64 hex digits>"},
		{[]any{"tether://enroll?code=X"}, "want both hub= and code="},
		{[]any{code.Code, 7770}, "argument 2 (hub)"},
	} {
		c.Request("CMD", "enroll", append([]any{}, tt.args...))
		if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), tt.want) {
			t.Errorf("enroll %v: %v, want %q", tt.args, e["error"], tt.want)
		}
	}

	network, _ := os.ReadFile(filepath.Join(root, "network.json"))
	c.Request("CMD", "apply_config", []any{"network.json", strings.Replace(string(network), "ESP32", "ESP32-S3", 1)})
	c.ExpectObject("applied network.json", func(m map[string]any) bool { return strings.HasPrefix(str(m["info"]), "applied network.json") })
	c.Request("CMD", "enroll", []any{code.URI})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "enroll: a change of network.json is still in its confirm window") {
		t.Fatalf("enroll in a confirm window: %v", e)
	}
	c.Request("CMD", "confirm_config", []any{})
	c.ExpectObject("outcome confirmed", func(m map[string]any) bool { return m["config/apply/outcome"] == "confirmed" })

	c.Request("CMD", "enroll", []any{code.Code, code.Hub, code.CA}) // the same code: not spent above
	info := str(c.ExpectKey("info", nil)["info"])
	if !strings.HasPrefix(info, "enrolled Device_1 with "+code.Hub+": its certificate lasts until ") || !strings.Contains(info, "CMD confirm_config within 60 s") {
		t.Fatalf("enroll: %s", info)
	}
	m := c.ExpectObject("config/apply pending", func(m map[string]any) bool { return m["config/apply"] == "pending" })
	if files, _ := m["config/apply/files"].([]any); len(files) != 1 || files[0] != "app.json" {
		t.Errorf("the pending change: %v, want app.json", m["config/apply/files"])
	}
	sv.wantRestarts(t, 2, "the network.json change, the enrollment")
	var got struct {
		Demo struct{ Home map[string]any } `json:"demo"`
	}
	b, _ := os.ReadFile(filepath.Join(root, "app.json"))
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	h := got.Demo.Home
	if h["host"] != "127.0.0.1" || h["tls"] != true || h["ca"] != "certs/hub-ca.crt" || h["cert"] != "certs/hub-client.crt" || h["key"] != "certs/hub-client.key" || h["token"] != nil {
		t.Errorf("demo.home after enrolling: %v", h)
	}
	if fi, err := os.Stat(filepath.Join(root, "certs", "hub-client.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key: %v %v, want mode 0600", fi, err)
	}
	pem, _ := os.ReadFile(filepath.Join(root, "certs", "hub-client.crt"))
	if !bytes.Contains(pem, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("certs/hub-client.crt: %q", pem)
	}

	c.Request("CMD", "confirm_config", []any{})
	c.ExpectObject("outcome confirmed", func(m map[string]any) bool { return m["config/apply/outcome"] == "confirmed" })
	c.Request("CMD", "enroll", []any{code.URI})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "enrollment refused: code already used") {
		t.Errorf("the same code twice: %v", e)
	}
	c.Request("CMD", "enroll", []any{makeCode().URI}) // enrolled again: a new certificate
	if info := str(c.ExpectKey("info", nil)["info"]); !strings.HasPrefix(info, "enrolled Device_1") {
		t.Errorf("enrolled again: %s", info)
	}
	if again, _ := os.ReadFile(filepath.Join(root, "certs", "hub-client.crt")); bytes.Equal(again, pem) {
		t.Error("enrolling again kept the old certificate")
	}
}

// A device without a root cannot take a certificate.
func TestEnrollWithoutRoot(t *testing.T) {
	sv := serve(t, ops.Options{})
	c := dial(t, sv.url)
	c.Request("CMD", "enroll", []any{"tether://enroll?hub=wss%3A%2F%2F127.0.0.1%3A1&code=AAAA-BBBB-CCCC-DDDD"})
	if e := c.ExpectKey("error", nil); !strings.Contains(str(e["error"]), "enroll: no device root") {
		t.Errorf("enroll without a root: %v", e)
	}
}
