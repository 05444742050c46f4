package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// hubProc is a real tether hub process on free 127.0.0.1 ports.
type hubProc struct {
	*tethertest.Proc
	devPort, pagePort int
}

// startHubProc runs "tether hub" with args on 127.0.0.1:0 and reads the
// ports it bound from its log.
func startHubProc(t *testing.T, args ...string) *hubProc {
	t.Helper()
	tethertest.NeedPython(t)
	all := append([]string{"hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0"}, args...)
	h := &hubProc{Proc: tethertest.Start(t, all...)}
	dev, page := h.HubAddrs(20 * time.Second)
	h.devPort, h.pagePort = port(t, dev), port(t, page)
	return h
}

// port is the port of a host:port address.
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		t.Fatalf("address %q: want host:port", addr)
	}
	return n
}

func (h *hubProc) ports() []string {
	return []string{strconv.Itoa(h.devPort), strconv.Itoa(h.pagePort)}
}

func (h *hubProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", h.pagePort, path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pyHubPrelude is shared by the Python peers: D and P are the device and
// page URL prefixes; expect reads until pred holds.
const pyHubPrelude = `
import asyncio, json, socket, ssl, sys, time
import websockets
DP, PP = sys.argv[1], sys.argv[2]
SCHEME = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3].startswith("ws") else "ws"
D = SCHEME + "://127.0.0.1:" + DP + "/"
P = SCHEME + "://127.0.0.1:" + PP + "/"

async def expect(ws, pred, what, timeout=5):
    end = time.monotonic() + timeout
    seen = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise SystemExit("FAIL: %s; saw %r" % (what, seen[-4:]))
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            continue
        seen.append(raw)
        if pred(raw):
            return raw

def has(key, val=None):
    def p(raw):
        try:
            m = json.loads(raw)
        except Exception:
            return False
        return isinstance(m, dict) and key in m and (val is None or m[key] == val)
    return p

def drop(*wss):
    # drop connections at the end: websockets waits 10 s at exit for open ones
    for w in wss:
        w.transport.abort()
`

func TestHubBinaryRelaysWithPythonPeers(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "messages.log")
	h := startHubProc(t, "--log-file", logFile, "--queue", "64", "--queue-bytes", "262144")
	out := tethertest.RunPython(t, 60*time.Second, pyHubPrelude+`
async def main():
    async with websockets.connect(P + "ghost") as pg:
        await pg.send('["GET", "wifi", []]')
        got = await expect(pg, has("error"), "offline error")
        assert json.loads(got) == {"error": "device ghost is not connected"}, got

    pages = [await websockets.connect(P + "dev1") for _ in range(3)]
    dev = await websockets.connect(D + "dev1")
    for pg in pages:
        await expect(pg, has("hub/device/connected", True), "online notice")

    await pages[0].send('["CMD", "send_message", ["hi"]]')
    await expect(dev, lambda r: r == '["CMD", "send_message", ["hi"]]', "page -> device")
    await pages[2].send(b"\x00\x01binary")
    await expect(dev, lambda r: r == b"\x00\x01binary", "binary page -> device")
    await dev.send('{"fake_interface/msg": "HI"}')
    await dev.send(b"\xffbin")
    for pg in pages:
        await expect(pg, lambda r: r == '{"fake_interface/msg": "HI"}', "device -> every page")
        await expect(pg, lambda r: r == b"\xffbin", "binary device -> every page")

    # a new page gets the shadow first: state, never an event, marked as replayed
    await dev.send('{"iam": "dev1", "fake_interface/running": true}')
    for pg in pages:
        await expect(pg, lambda r: r == '{"iam": "dev1", "fake_interface/running": true}', "state -> every page")
    late = await websockets.connect(P + "dev1")
    first = json.loads(await asyncio.wait_for(late.recv(), 5))
    assert first.get("hub/shadow/replayed") is True and first.get("fake_interface/running") is True, first
    assert "fake_interface/msg" not in first, first

    # a stalled page beside a live one: the live one gets everything
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", int(PP)))
    stalled.sendall(("GET /dev1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += stalled.recv(1)
    assert b" 101 " in head, head
    for pg in pages[1:] + [late]:
        pg.transport.abort()
    live = pages[0]
    N = 2000
    blob = json.dumps({"blob": "x" * 4000})
    got = 0
    async def reader():
        nonlocal got
        while got < N:
            r = await asyncio.wait_for(live.recv(), 10)
            if r == blob:
                got += 1
    task = asyncio.ensure_future(reader())
    for i in range(N):
        await dev.send(blob)
        while i - got > 32:
            await asyncio.sleep(0.001)
    await asyncio.wait_for(task, 20)

    # replacement: the old device is closed with 4000, pages hear it
    dev2 = await websockets.connect(D + "dev1")
    try:
        await asyncio.wait_for(dev.wait_closed(), 5)
    except asyncio.TimeoutError:
        raise SystemExit("FAIL: replaced device still open")
    assert dev.close_code == 4000, dev.close_code
    r = await expect(live, has("hub/device/connected", False), "replaced notice")
    assert "replaced" in json.loads(r)["hub/device/reason"], r
    await expect(live, has("hub/device/connected", True), "online again")
    await live.send('"after replace"')
    await expect(dev2, lambda r: r == '"after replace"', "the newer device gets page messages")

    await dev2.close()
    r = await expect(live, has("hub/device/connected", False), "offline notice")
    assert json.loads(r)["hub/device/reason"].startswith("closed by the device"), r
    drop(live, dev, dev2)
    stalled.close()
    print("relay ok")

asyncio.run(main())
`, h.ports()...)
	if !strings.Contains(out, "relay ok") {
		t.Fatalf("python: %s", out)
	}
	if code, body := h.get(t, "/metrics"); code != 200 || !strings.Contains(body, `tether_hub_slow_consumer_closes_total{role="page"} 1`) ||
		!strings.Contains(body, `tether_hub_messages_relayed_total{direction="page>device"} 3`) {
		t.Errorf("/metrics after the flow: %d\n%s", code, grepLines(body, "tether_hub_"))
	}
	if code, body := h.get(t, "/api/devices"); code != 200 || !strings.Contains(body, `"id": "dev1"`) {
		t.Errorf("/api/devices: %d %s", code, body)
	}

	h.Signal(syscall.SIGTERM)
	if code := h.Wait(6 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: %d", code)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"dir":"page>device","device":"dev1","text":"[\"CMD\", \"send_message\", [\"hi\"]]"`,
		`"dir":"device>pages","device":"dev1","text":"{\"fake_interface/msg\": \"HI\"}"`,
		`"dir":"device>pages","device":"dev1","binary":"/2Jpbg=="`,
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("message log lacks %s", want)
		}
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, ln := range strings.Split(s, "\n") {
		if strings.HasPrefix(ln, prefix) {
			out = append(out, ln)
		}
	}
	return strings.Join(out, "\n")
}

func TestHubBinaryRefusesBadIDs(t *testing.T) {
	h := startHubProc(t)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
async def main():
    for base in (D, P):
        for bad in (".x", "a%20b", "x" * 65, "a/b", "%C3%A9"):
            try:
                async with websockets.connect(base + bad):
                    raise SystemExit("FAIL: %r accepted" % (base + bad))
            except websockets.InvalidStatusCode as e:
                assert e.status_code == 400, (bad, e.status_code)
        async with websockets.connect(base + "Device_1.a-b"):
            pass
    print("ids ok")
asyncio.run(main())
`, h.ports()...)
	if !strings.Contains(out, "ids ok") {
		t.Fatal(out)
	}
}

func TestHubBinaryAuth(t *testing.T) {
	sum := sha256.Sum256([]byte("page-secret"))
	auth := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(auth, []byte(`{"devices": {"dev1": {"token": "dev-secret"}},
		"pages": [{"token": "sha256:`+hex.EncodeToString(sum[:])+`"}]}`), 0o600)
	h := startHubProc(t, "--auth", auth)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
def bearer(tok):
    return {"Authorization": "Bearer " + tok}

async def refused(url, headers):
    try:
        async with websockets.connect(url, extra_headers=headers):
            raise SystemExit("FAIL: %s with %r accepted" % (url, headers))
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 401, (url, e.status_code)

async def main():
    await refused(D + "dev1", {})
    await refused(D + "dev1", bearer("wrong"))
    await refused(D + "dev2", bearer("dev-secret"))
    await refused(P + "dev1", {})
    await refused(P + "dev1", bearer("dev-secret"))
    dev = await websockets.connect(D + "dev1", extra_headers=bearer("dev-secret"))
    pg = await websockets.connect(P + "dev1", extra_headers=bearer("page-secret"))
    await expect(pg, has("hub/device/connected", True), "online")
    await pg.send("ping me")
    await expect(dev, lambda r: r == "ping me", "relay with auth")
    drop(dev, pg)
    print("auth ok")
asyncio.run(main())
`, h.ports()...)
	if !strings.Contains(out, "auth ok") {
		t.Fatal(out)
	}
	if !strings.Contains(h.Output(), "device refused") {
		t.Errorf("hub log does not mention refused devices:\n%s", h.Output())
	}
	if strings.Contains(h.Output(), "hub is OPEN") {
		t.Errorf("hub with --auth says it is open")
	}
	if !strings.Contains(h.Output(), "auth on: devices need their token") || !strings.Contains(h.Output(), "page_tokens=1") {
		t.Errorf("hub with --auth does not say that login is on:\n%s", h.Output())
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", h.pagePort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/metrics without a page token: %d, want 401", resp.StatusCode)
	}
}

func TestHubBinarySaysWhenOpen(t *testing.T) {
	h := startHubProc(t)
	// the warning follows the "hub listening" line that startHubProc waits for
	h.WaitOutput("hub is OPEN", 10*time.Second)
	if _, body := h.get(t, "/api/hub"); !strings.Contains(body, `"open": true`) {
		t.Errorf("/api/hub: %s", body)
	}
}

func TestHubBinaryTLSWithClientCertificates(t *testing.T) {
	dir := t.TempDir()
	writeTestPKI(t, dir)
	h := startHubProc(t, "--tls-cert", filepath.Join(dir, "hub.crt"), "--tls-key", filepath.Join(dir, "hub.key"),
		"--client-ca", filepath.Join(dir, "ca.crt"))
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
DIR = sys.argv[4]
def ctx(cert=None):
    c = ssl.create_default_context(cafile=DIR + "/ca.crt")
    if cert:
        c.load_cert_chain(DIR + "/" + cert + ".crt", DIR + "/" + cert + ".key")
    return c

async def main():
    try:
        async with websockets.connect(D + "dev1", ssl=ctx()) as ws:
            await asyncio.wait_for(ws.recv(), 3)
        raise SystemExit("FAIL: device without a client certificate accepted")
    except (ssl.SSLError, websockets.ConnectionClosed, ConnectionResetError, OSError, websockets.InvalidMessage):
        pass
    try:
        async with websockets.connect(D + "dev2", ssl=ctx("dev1")):
            raise SystemExit("FAIL: certificate for dev1 accepted as dev2")
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 401, e.status_code
    dev = await websockets.connect(D + "dev1", ssl=ctx("dev1"))
    pg = await websockets.connect(P + "dev1", ssl=ctx())
    await expect(pg, has("hub/device/connected", True), "online over TLS")
    await dev.send('{"tls": true}')
    await expect(pg, lambda r: r == '{"tls": true}', "relay over TLS")
    drop(dev, pg)
    print("tls ok")
asyncio.run(main())
`, append(h.ports(), "wss", dir)...)
	if !strings.Contains(out, "tls ok") {
		t.Fatal(out)
	}
}

// writeTestPKI writes ca.crt, hub.crt/key (for 127.0.0.1) and dev1.crt/key
// (a client certificate with common name dev1) into dir.
func writeTestPKI(t *testing.T, dir string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER)
	issue := func(name string, tmpl *x509.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalPKCS8PrivateKey(key)
		writePEM(t, filepath.Join(dir, name+".crt"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(dir, name+".key"), "PRIVATE KEY", kb)
	}
	issue("hub", &x509.Certificate{Subject: pkix.Name{CommonName: "hub"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	issue("dev1", &x509.Certificate{Subject: pkix.Name{CommonName: "dev1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHubBinarySIGTERMClosesWith1001(t *testing.T) {
	h := startHubProc(t)
	pid := strconv.Itoa(h.Cmd.Process.Pid)
	out := tethertest.RunPython(t, 30*time.Second, pyHubPrelude+`
import os, signal
async def main():
    dev = await websockets.connect(D + "dev1")
    pg = await websockets.connect(P + "dev1")
    await expect(pg, has("hub/device/connected", True), "online")
    os.kill(int(sys.argv[3]), signal.SIGTERM)
    for name, ws in (("device", dev), ("page", pg)):
        try:
            await asyncio.wait_for(ws.wait_closed(), 5)
        except asyncio.TimeoutError:
            raise SystemExit("FAIL: %s still open 5 s after SIGTERM" % name)
        assert (ws.close_code, ws.close_reason) == (1001, "hub shutting down"), (name, ws.close_code, ws.close_reason)
    print("sigterm ok")
asyncio.run(main())
`, append(h.ports(), pid)...)
	if !strings.Contains(out, "sigterm ok") {
		t.Fatal(out)
	}
	if code := h.Wait(5 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: %d", code)
	}
}

// tether hub stops as tether device does: 130 after Ctrl-C, 0 after
// SIGTERM, saying so in its log.
func TestHubBinarySignals(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 0}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			h := startHubProc(t)
			h.Signal(tt.sig)
			if code := h.Wait(6 * time.Second); code != tt.code {
				t.Errorf("exit code after %v: %d, want %d", tt.sig, code, tt.code)
			}
			if !strings.Contains(h.Output(), "shutting down") {
				t.Errorf("log lacks the shutdown:\n%s", h.Output())
			}
		})
	}
}

// The dashboard of a hub no device has called yet says where devices call:
// the device endpoint's real port (from /api/hub), seen in Chromium.
func TestHubEmptyDashboardNamesDevicePort(t *testing.T) {
	h := startHubProc(t)
	if _, body := h.get(t, "/api/hub"); !strings.Contains(body, fmt.Sprintf(`"device_port": %d`, h.devPort)) {
		t.Errorf("/api/hub lacks device_port %d: %s", h.devPort, body)
	}
	out := tethertest.Browser(t, "hub-empty.mjs", fmt.Sprintf("http://127.0.0.1:%d/", h.pagePort))
	if want := fmt.Sprintf("devices call ws://127.0.0.1:%d/<device-id>", h.devPort); !strings.Contains(out, want) {
		t.Errorf("browser: %s\nwant %q", out, want)
	}
}
