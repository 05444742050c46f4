package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tether/internal/apps"
	"tether/internal/apps/appserver"
	_ "tether/internal/apps/recovery"
	"tether/internal/artifact"
	"tether/internal/certs"
	"tether/internal/cmdapi"
	"tether/internal/device"
	"tether/internal/hub"
	"tether/internal/logring"
	"tether/internal/tethertest"
	"tether/internal/wire"
)

// testApp is an app whose behaviour is the text of apps/updtest/mode,
// the folder updates replace: "ok" serves and answers GET health;
// "crash" fails at start; "noprobe" never answers GET health; "bigstate"
// sends a state object too big for the hub, which then closes its link;
// "slow" serves as "ok" does after slowStart (a slow board).
const testApp = "updtest"

// slowStart is how long a "slow" app takes to start: longer than the
// window of the tests that try it.
const slowStart = 4 * time.Second

func init() {
	apps.Register(testApp, func() apps.App { return apps.Func(runTestApp) })
}

func runTestApp(ctx context.Context, env *apps.Env) error {
	b, _ := os.ReadFile(filepath.Join(env.Config.Root, "apps", testApp, "mode"))
	mode := strings.TrimSpace(string(b))
	if mode == "crash" {
		return errors.New("crashed at start: boom")
	}
	if mode == "slow" {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(slowStart):
		}
	}
	s, err := appserver.New(env, appserver.Options{Name: testApp, Section: "demo", Settings: env.Config.App.Demo,
		State: func(m wire.Message) {
			m[testApp+"/mode"] = mode
			if mode == "bigstate" {
				m[testApp+"/big"] = strings.Repeat("x", 40<<10)
			}
		}})
	if err != nil {
		return err
	}
	s.API().Handle(wire.Get, "health", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		if mode != "noprobe" {
			reply(wire.Message{"health": "ok"})
		}
		return nil
	})
	return s.Run(ctx)
}

// rig is a hub and a device, in-process, and the key updates are signed
// with.
type rig struct {
	t       *testing.T
	root    string
	hubURL  string // the page port
	key     ed25519.PrivateKey
	ring    *logring.Ring
	hubLogs *tethertest.SyncBuffer
	client  *http.Client // to the hub's page port
	devAddr string       // the hub's device port
}

// newRig starts a hub and a device. With secure, the hub serves TLS and
// requires client certificates and tokens, and the device calls home (and
// so downloads) over TLS with its own certificate and token.
func newRig(t *testing.T, window time.Duration, secure bool) *rig {
	return newRigMode(t, window, secure, "ok")
}

// newRigMode is newRig with the app installed by hand in mode.
func newRigMode(t *testing.T, window time.Duration, secure bool, mode string) *rig {
	t.Helper()
	return startRig(t, window, secure, mode, nil)
}

// startRig is newRigMode with the device calling home (and so
// downloading) through front, when not nil: given the hub's device
// address, it returns the address the device is to use instead.
func startRig(t *testing.T, window time.Duration, secure bool, mode string, front func(hubDev string) string) *rig {
	t.Helper()
	r := &rig{t: t, ring: logring.New(1000), hubLogs: &tethertest.SyncBuffer{}, client: http.DefaultClient}
	r.root = tethertest.SeedRootApp(t, "{}")
	home := ""
	hubOpts := hub.Options{UpdateDir: t.TempDir(), RolloutInterval: 100 * time.Millisecond, MaxMessage: 16 << 10,
		Logger: slog.New(slog.NewTextHandler(r.hubLogs, nil))}
	if secure {
		home = secureRig(t, r, &hubOpts)
	}
	dLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.devAddr = dLn.Addr().String()
	h := hub.New(hubOpts)
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Serve(ctx, dLn, pLn) }()
	r.hubURL = "http://" + pLn.Addr().String()
	if secure {
		r.hubURL = "https://" + pLn.Addr().String()
	}

	keys := t.TempDir()
	priv, pub, _, err := artifact.GenerateKeys(keys, "update")
	if err != nil {
		t.Fatal(err)
	}
	r.key, err = artifact.LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	homePort := dLn.Addr().(*net.TCPAddr).Port
	if front != nil {
		_, p, _ := net.SplitHostPort(front(r.devAddr))
		homePort, _ = strconv.Atoi(p)
	}
	tethertest.WriteFile(t, filepath.Join(r.root, "app.json"), fmt.Sprintf(`{"app": %q, "demo": {"http": {"ip": "127.0.0.1", "port": 0},
		"home": {"ip": "127.0.0.1", "port": %d %s}}}`, testApp, homePort, home))
	os.MkdirAll(filepath.Join(r.root, "keys"), 0o755)
	b, _ := os.ReadFile(pub)
	tethertest.WriteFile(t, filepath.Join(r.root, "keys", "update.pub"), string(b))
	os.MkdirAll(filepath.Join(r.root, "apps", testApp), 0o755)
	tethertest.WriteFile(t, filepath.Join(r.root, "apps", testApp, "mode"), mode) // v1, installed by hand

	dev := device.New(device.Options{Root: r.root, Net: "sim", RecoveryAddr: "127.0.0.1:0", RestartDelay: 5 * time.Millisecond,
		UpdateWindow: window, Log: r.ring})
	devDone := make(chan error, 1)
	go func() { devDone <- dev.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for _, done := range []chan error{devDone, hubDone} {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("still running 10 s after its context ended")
			}
		}
		if t.Failed() {
			t.Logf("device log:\n%s\nhub log:\n%s", strings.Join(r.ring.Lines(), "\n"), r.hubLogs.String())
		}
	})
	return r
}

// pack packs an app folder whose mode is mode, signed with key.
func (r *rig) pack(version, mode string, key ed25519.PrivateKey) []byte {
	dir := r.t.TempDir()
	tethertest.WriteFile(r.t, filepath.Join(dir, "mode"), mode)
	var b bytes.Buffer
	if _, err := artifact.PackApp(&b, dir, artifact.PackOptions{Name: testApp, Version: version, Key: key}); err != nil {
		r.t.Fatal(err)
	}
	return b.Bytes()
}

// push uploads art and rolls it out to Device_1; it returns the rollout.
func (r *rig) push(art []byte) string {
	r.t.Helper()
	var a struct{ SHA256 string }
	r.post("/api/artifacts", art, &a)
	var ro struct{ ID string }
	spec, _ := json.Marshal(map[string]any{"artifact": a.SHA256, "devices": []string{"Device_1"}})
	r.post("/api/rollouts", spec, &ro)
	return ro.ID
}

func (r *rig) post(path string, body []byte, out any) {
	r.t.Helper()
	resp, err := r.client.Post(r.hubURL+path, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("POST %s: %s %s", path, resp.Status, b)
	}
	json.Unmarshal(b, out)
}

// result waits for Device_1's result in the rollout id to be final.
func (r *rig) result(id string) (state, reason string) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := r.client.Get(r.hubURL + "/api/rollouts/" + id)
		if err != nil {
			r.t.Fatal(err)
		}
		var ro struct {
			Results map[string]struct{ State, Reason string }
		}
		json.NewDecoder(resp.Body).Decode(&ro)
		resp.Body.Close()
		res := ro.Results["Device_1"]
		switch res.State {
		case "committed", "rolled_back", "refused":
			return res.State, res.Reason
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("rollout %s: Device_1 did not end within 30 s", id)
	return "", ""
}

// mode is what the app's folder says now.
func (r *rig) mode() string {
	b, _ := os.ReadFile(filepath.Join(r.root, "apps", testApp, "mode"))
	return string(b)
}

// TestUpdatesInProcess runs an app through updates that work and updates
// that do not, with a real hub and device in one process: each bad one
// comes back to the previous version by itself, with its reason at the
// hub.
func TestUpdatesInProcess(t *testing.T) {
	r := newRig(t, 3*time.Second, false)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	tampered := tethertest.TamperArtifact(t, r.pack("6", "ok", r.key))
	steps := []struct {
		name   string
		art    []byte
		state  string
		reason string
		mode   string // the app's folder after it
	}{
		{"v2 works", r.pack("2", "ok", r.key), "committed", "committed after", "ok"},
		{"v3 crashes at start", r.pack("3", "crash", r.key), "rolled_back", "crashed at start: boom", "ok"},
		{"v4 never answers its probe", r.pack("4", "noprobe", r.key), "rolled_back", "health probe", "ok"},
		{"v5 breaks the hub link", r.pack("5", "bigstate", r.key), "rolled_back", "hub", "ok"},
		{"tampered payload", tampered, "refused", "refused before staging: bad signature", "ok"},
		{"wrong key", r.pack("7", "ok", other), "refused", "refused before staging: signed with a key this device does not trust", "ok"},
		{"v8 works", r.pack("8", "crash-never", r.key), "committed", "committed", "crash-never"},
		// Its window starts when it serves: a start longer than the
		// window is not the trial failing.
		{"v9 starts slowly", r.pack("9", "slow", r.key), "committed", "committed", "slow"},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			r.t = t
			id := r.push(st.art)
			state, reason := r.result(id)
			t.Logf("%s: %s", state, reason)
			if state != st.state || !strings.Contains(reason, st.reason) {
				t.Fatalf("result %s %q, want %s with %q", state, reason, st.state, st.reason)
			}
			if got := r.mode(); got != st.mode {
				t.Fatalf("the app's folder says %q, want %q", got, st.mode)
			}
		})
		if !ok {
			break
		}
	}
}

// secureRig makes a CA, the hub's certificate and Device_1's client
// certificate (in the root's certs/), sets the hub to serve TLS and
// require client certificates, and returns the home keys that make the
// device use them.
func secureRig(t *testing.T, r *rig, o *hub.Options) string {
	t.Helper()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := certs.Device(ca, certs.DeviceOptions{ID: "Device_1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r.root, "certs")
	for name, p := range map[string]*certs.Pair{"ca": ca, "server": srv, "Device_1": dev} {
		if _, _, err := p.Write(dir, name, false); err != nil {
			t.Fatal(err)
		}
	}
	o.TLS, err = certs.ServerTLS(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	if o.ClientCAs, err = certs.LoadPool(filepath.Join(dir, "ca.crt")); err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := certs.ClientTLS(filepath.Join(dir, "ca.crt"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Auth, err = hub.ParseAuth([]byte(`{"devices": {"Device_1": {"token": "device-token"}}, "pages": [{"token": "page-token"}]}`), "auth.json"); err != nil {
		t.Fatal(err)
	}
	r.client = &http.Client{Transport: bearer{"page-token", &http.Transport{TLSClientConfig: tlsCfg}}}
	return `, "host": "127.0.0.1", "tls": true, "ca": "certs/ca.crt", "cert": "certs/Device_1.crt", "key": "certs/Device_1.key", "token": "device-token"`
}

// bearer sends a page token with every request.
type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(req)
}

// TestUpdateOverTLSWithClientCert: on a hub that serves TLS, requires
// client certificates and tokens (--auth), a device downloads an update
// over its own call-home origin with its own certificate and token, and
// commits it; a download without a certificate is refused.
func TestUpdateOverTLSWithClientCert(t *testing.T) {
	r := newRig(t, 2*time.Second, true)
	art := r.pack("2", "ok", r.key)
	id := r.push(art)
	sum := sha256.Sum256(art)
	if resp, err := r.client.Get("https://" + r.devAddr + "/Device_1/artifacts/" + hex.EncodeToString(sum[:])); err == nil {
		resp.Body.Close()
		t.Fatalf("a download without a client certificate: %s, want the handshake refused", resp.Status)
	}
	if state, reason := r.result(id); state != "committed" {
		t.Fatalf("over TLS: %s (%s), want committed", state, reason)
	}
	if r.mode() != "ok" || !strings.Contains(strings.Join(r.ring.Lines(), "\n"), "update downloaded") {
		t.Fatal("the update was not downloaded and committed")
	}
}

// TestUpdateRepairsDeviceInRecovery: a device whose app crashes is in
// recovery; an update that works, sent through the hub to recovery's
// command API, is committed and the device runs its app again (being in
// recovery before the switch is not the trial failing).
func TestUpdateRepairsDeviceInRecovery(t *testing.T) {
	r := newRigMode(t, 2*time.Second, false, "crash")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.Join(r.ring.Lines(), "\n"), "connected to home") || !strings.Contains(strings.Join(r.ring.Lines(), "\n"), "recovery") {
		if time.Now().After(deadline) {
			t.Fatal("the device did not fall into recovery and call home")
		}
		time.Sleep(100 * time.Millisecond)
	}
	id := r.push(r.pack("2", "ok", r.key))
	if state, reason := r.result(id); state != "committed" {
		t.Fatalf("an update sent to a device in recovery: %s (%s), want committed", state, reason)
	}
	if r.mode() != "ok" {
		t.Fatalf("the app's folder says %q, want ok", r.mode())
	}
}
