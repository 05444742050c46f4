package devtls_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/devtls"
	"tether/internal/tethertest"
)

// End-to-end: the real binary (tether device --net sim) on seed-format
// roots, certificates made by the real `tether certs`, real peers.

// seedRoot writes a device root running app, the demo on ports h (page)
// and w (command API), the echoserver on e; demoTLS and echoTLS are extra
// keys of those sections. The seed's home ip "" means no calling home.
func seedRoot(t *testing.T, app string, h, w, e int, demoTLS, echoTLS string) string {
	t.Helper()
	return tethertest.SeedRootApp(t, fmt.Sprintf(`{
    "app": %q,
    "echoserver": {"listen_addr": "127.0.0.1", "listen_port": %d%s},
    "demo": {
        "http": {"ip": "127.0.0.1", "port": %d},
        "websocket": {"ip": "127.0.0.1", "port": %d},
        "home": {"ip": "", "port": 7770}%s
    }
}`, app, e, echoTLS, h, w, demoTLS))
}

// cliCerts runs `tether certs init` and `tether certs server --dir
// ROOT/certs` as a person would, and returns the server certificate's
// fingerprint.
func cliCerts(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, devtls.Dir)
	for _, args := range [][]string{
		{"certs", "init", "--dir", dir},
		{"certs", "server", "--dir", dir, "--name", "localhost", "--ip", "127.0.0.1"},
	} {
		p := tethertest.Start(t, args...)
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Fatalf("tether %s: exit %d\n%s", strings.Join(args, " "), code, p.Output())
		}
	}
	return fileFingerprint(t, filepath.Join(root, devtls.CertFile))
}

func fileFingerprint(t *testing.T, file string) string {
	t.Helper()
	p, err := certs.LoadPair(file, strings.TrimSuffix(file, ".crt")+".key")
	if err != nil {
		t.Fatal(err)
	}
	return p.Fingerprint()
}

func itoa(n int) string { return strconv.Itoa(n) }

func needBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the tether binary")
	}
}

// pyLib: recv_until reads JSON objects until one matches; ctx trusts a CA
// file and checks the host name.
const pyLib = `
import asyncio, json, ssl, sys
import websockets

async def recv_until(ws, pred, timeout=10):
    seen = []
    async def loop():
        while True:
            msg = json.loads(await ws.recv())
            seen.append(msg)
            if pred(msg):
                return msg
    try:
        return await asyncio.wait_for(loop(), timeout)
    except asyncio.TimeoutError:
        raise SystemExit("FAIL: timed out; last messages: %r" % (seen[-6:],))

def req(kind, item, *args):
    return json.dumps([kind, item, list(args)])

DEVICE_AUTH = ` + tethertest.PythonAuth + `

def trusting(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx
`

// The demo's command flow over wss://, verifying the chain to the CA that
// `tether certs` made: GET wifi, start_interface, send_message → HELLO, with
// the certificate's fingerprint in the state object. Plain http:// and ws://
// on the TLS ports get a clear answer.
func TestDeviceWSS(t *testing.T) {
	needBinary(t)
	tethertest.NeedPython(t)
	h, w := tethertest.FreePort(t), tethertest.FreePort(t)
	root := seedRoot(t, "demo", h, w, 7777, "", "")
	fp := cliCerts(t, root) // dropped in as is; app.json unchanged
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("demo serving", 60*time.Second)
	if out := p.Output(); !strings.Contains(out, "fingerprint_sha256="+fp) || !strings.Contains(out, "page=https://127.0.0.1:"+itoa(h)+"/") {
		t.Fatalf("log lacks TLS on with fingerprint %s and the https:// page:\n%s", fp, out)
	}
	out := tethertest.RunPython(t, 40*time.Second, pyLib+`
async def main(url, cafile, fp):
    async with websockets.connect(url, ssl=trusting(cafile), extra_headers=DEVICE_AUTH) as ws:
        state = await recv_until(ws, lambda m: "iam" in m)
        assert state["iam"] == "Device_1" and state["tls/fingerprint"] == fp, state
        await ws.send(req("GET", "wifi"))
        await recv_until(ws, lambda m: "wifi/net/ip" in m)
        await recv_until(ws, lambda m: m.get("info") == "wifi status done")
        await ws.send(req("CMD", "start_interface"))
        await recv_until(ws, lambda m: m.get("fake_interface/running") is True)
        await ws.send(req("CMD", "send_message", "hello"))
        got = await recv_until(ws, lambda m: "fake_interface/msg" in m)
        assert got["fake_interface/msg"] == "HELLO", got
        print("wss flow:", got["fake_interface/msg"], ws.transport.get_extra_info("ssl_object").version())
    try:
        async with websockets.connect(url, ssl=ssl.create_default_context()) as ws:
            raise SystemExit("FAIL: connected without trusting the CA")
    except ssl.SSLCertVerificationError as e:
        print("untrusted refused:", e.verify_message)
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
`, "wss://localhost:"+itoa(w)+"/", filepath.Join(root, devtls.Dir, "ca.crt"), fp)
	if !strings.Contains(out, "wss flow: HELLO TLSv1.3") || !strings.Contains(out, "untrusted refused") {
		t.Fatalf("python:\n%s", out)
	}
	page := httpsGet(t, root, "https://localhost:"+itoa(h)+"/")
	if !strings.Contains(page, "<html") {
		t.Fatalf("GET https:// page: %.200s", page)
	}
	for _, port := range []int{h, w} {
		checkPlainAnswers(t, "127.0.0.1:"+itoa(port))
	}
}

// httpsGet fetches url trusting root's CA (certs/ca.crt).
func httpsGet(t *testing.T, root, url string) string {
	t.Helper()
	pool, err := certs.LoadPool(filepath.Join(root, devtls.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header = tethertest.DeviceAuth()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// checkPlainAnswers: http:// is redirected to https://, ws:// refused with
// 400 naming wss://.
func checkPlainAnswers(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + addr + "/x?y=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "https://"+addr+"/x?y=1" {
		t.Errorf("GET http://%s/x?y=1: %d Location %q, want 307 to https://", addr, resp.StatusCode, resp.Header.Get("Location"))
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("ws:// upgrade on %s: %v, want an answer", addr, err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "wss://"+addr+"/") {
		t.Errorf("ws:// upgrade on %s: %d %q, want 400 naming wss://", addr, resp.StatusCode, b)
	}
}

// The echoserver over wss://, echoserver.tls enabled, Python verifying
// the chain.
func TestEchoserverWSS(t *testing.T) {
	needBinary(t)
	tethertest.NeedPython(t)
	e := tethertest.FreePort(t)
	root := seedRoot(t, "echoserver", 8080, 8080, e, "", `, "tls": {"enabled": true}`)
	cliCerts(t, root)
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("echo server listening", 60*time.Second)
	if !strings.Contains(p.Output(), "addr=wss://127.0.0.1:"+itoa(e)+"/") {
		t.Fatalf("log lacks the wss:// address:\n%s", p.Output())
	}
	out := tethertest.RunPython(t, 30*time.Second, pyLib+`
async def main(url, cafile):
    async with websockets.connect(url, ssl=trusting(cafile)) as ws:
        for msg in ["over wss", b"\x00\x01binary", "é" * 1000]:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), 10)
            assert got == msg, (got, msg)
        print("echoed over", ws.transport.get_extra_info("ssl_object").version())
asyncio.run(main(sys.argv[1], sys.argv[2]))
`, "wss://localhost:"+itoa(e)+"/", filepath.Join(root, devtls.Dir, "ca.crt"))
	if !strings.Contains(out, "echoed over TLSv1.3") {
		t.Fatalf("python:\n%s", out)
	}
	checkPlainAnswers(t, "127.0.0.1:"+itoa(e))
}

// First boot with demo.tls enabled and no certificate: a self-signed one
// is made, its key 0600, its fingerprint logged and in the state object; a
// client trusting that certificate alone connects. The next boot loads the
// same one.
func TestFirstBootSelfSigned(t *testing.T) {
	needBinary(t)
	h := tethertest.FreePort(t)
	root := seedRoot(t, "demo", h, h, 7777, `, "tls": {"enabled": true}`, "")
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("demo serving", 60*time.Second)
	fp := fileFingerprint(t, filepath.Join(root, devtls.CertFile))
	logged := loggedFingerprints(p.Output())
	if len(logged) == 0 || logged[0] != fp || !strings.Contains(p.Output(), "made a self-signed TLS certificate") {
		t.Fatalf("certs/server.crt has fingerprint %s; log says %v:\n%s", fp, logged, p.Output())
	}
	if fi, err := os.Stat(filepath.Join(root, devtls.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi.Mode(), err)
	}
	cert := readCert(t, filepath.Join(root, devtls.CertFile))
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+itoa(h), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to 127.0.0.1 trusting the generated certificate: %v", err)
	}
	state := firstMessage(t, conn, h)
	if state["tls/fingerprint"] != fp {
		t.Errorf("state object tls/fingerprint %v, want %s", state["tls/fingerprint"], fp)
	}

	key, _ := os.ReadFile(filepath.Join(root, devtls.KeyFile))
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	p = tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("demo serving", 60*time.Second)
	if got := loggedFingerprints(p.Output()); len(got) == 0 || got[0] != fp || strings.Contains(p.Output(), "made a self-signed") {
		t.Fatalf("second boot logged %v, want the first boot's %s loaded, not made again:\n%s", got, fp, p.Output())
	}
	if again, _ := os.ReadFile(filepath.Join(root, devtls.KeyFile)); string(again) != string(key) {
		t.Fatal("second boot replaced the key")
	}
}

// loggedFingerprints are the fingerprint_sha256 values in a text log.
func loggedFingerprints(out string) []string {
	var fps []string
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "fingerprint_sha256="); ok {
			fps = append(fps, v)
		}
	}
	return fps
}

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	p, err := certs.LoadPair(file, strings.TrimSuffix(file, ".crt")+".key")
	if err != nil {
		t.Fatal(err)
	}
	return p.Cert
}

// firstMessage upgrades conn to a WebSocket and decodes the first message
// (the state object). It speaks just enough of RFC 6455 for that.
func firstMessage(t *testing.T, conn net.Conn, port int) map[string]any {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", port, tethertest.DevicePassword)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		io.ReadFull(br, ext)
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		t.Fatal("state object over 64 KiB")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("state object %q: %v", body, err)
	}
	return m
}
