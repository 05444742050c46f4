package demo_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/apps"
	"tether/internal/certs"
	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/tethertest"
	"tether/internal/wsconn"
)

// A Python websockets server standing in as home receives the device at
// /Device_1 and drives the seed's flow through it; after home drops the
// connection, the device calls again.
func TestCallHomeToPython(t *testing.T) {
	t.Parallel()
	tethertest.NeedPython(t)
	home := tethertest.FreePort(t)
	p := tethertest.FreePort(t)
	done := make(chan string, 1)
	go func() {
		out, err := tethertest.TryPython(t, 40*time.Second, pyLib+`
async def main(port):
    results = []
    done = asyncio.get_event_loop().create_future()
    async def handler(ws, path):
        if path != "/Device_1":
            print("unexpected path", path)
            return
        results.append(await demo_flow(ws))
        print("call", len(results), results[-1], "at", path)
        if len(results) == 2:
            done.set_result(True)
        # returning closes this connection; the device must call again
    async with websockets.serve(handler, "127.0.0.1", port):
        await asyncio.wait_for(done, 30)
        print("home ok: device called twice")
asyncio.run(main(int(sys.argv[1])))
`, itoa(home))
		if err != nil {
			out += "\nerror: " + err.Error()
		}
		done <- out
	}()
	tethertest.WaitPort(t, "127.0.0.1:"+itoa(home), 10*time.Second)
	start(t, seedApp(p, p, home, ""))
	out := <-done
	if !strings.Contains(out, "home ok: device called twice") {
		t.Fatalf("home said:\n%s", out)
	}
}

// When the app's context ends, local clients are closed with 1001 and Run
// returns nil.
func TestShutdownClosesClientsWithGoingAway(t *testing.T) {
	p := tethertest.FreePort(t)
	w := tethertest.FreePort(t)
	r := start(t, seedApp(p, w, 0, ""))
	c := tethertest.DialWS(t, r.wsURL(), tethertest.WSOptions{})
	if _, msg := c.Read(); !strings.Contains(msg, `"iam":"Device_1"`) {
		t.Fatalf("first message %s; want the state", msg)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	if code, reason := c.CloseStatus(); code != wsconn.StatusGoingAway {
		t.Fatalf("client closed with %d %q, want 1001", code, reason)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
}

// demo.tls serves the page over https:// and the command API over wss://.
func TestTLS(t *testing.T) {
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	p := tethertest.FreePort(t)
	root := tethertest.SeedRootApp(t, seedApp(p, p, 0, `, "tls": {"enabled": true}`))
	if _, _, err := pair.Write(filepath.Join(root, "certs"), "server", false); err != nil {
		t.Fatal(err)
	}
	r := startRoot(t, root)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tlsCfg := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Get("https://" + r.addrs["https"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET https://.../: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := tethertest.DialWS(t, "wss://"+r.addrs["wss"]+"/", tethertest.WSOptions{TLS: tlsCfg})
	if _, msg := c.Read(); !strings.Contains(msg, `"iam":"Device_1"`) ||
		!strings.Contains(msg, `"tls/fingerprint":"`+pair.Fingerprint()+`"`) {
		t.Fatalf("first message over wss: %s; want the state object with tls/fingerprint %s", msg, pair.Fingerprint())
	}
}

// A demo.tls whose files do not load fails the app with NoRestart, so the
// device goes to recovery at once instead of retrying. (At the default
// files, a missing pair is made instead: see package devtls.)
func TestTLSFilesMissing(t *testing.T) {
	p := tethertest.FreePort(t)
	root := tethertest.SeedRootApp(t, seedApp(p, p, 0, `, "tls": {"enabled": true, "cert": "tls/dev.crt", "key": "tls/dev.key"}`))
	cfg, _, err := config.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	ctor, _ := apps.Lookup("demo")
	err = ctor().Run(context.Background(), &apps.Env{Config: cfg, Net: netif.NewManager(netif.Options{})})
	var nr interface{ NoRestart() bool }
	if err == nil || !errors.As(err, &nr) || !nr.NoRestart() || !strings.Contains(err.Error(), "demo.tls: "+filepath.Join(root, "tls/dev.crt")+": missing") {
		t.Fatalf("Run = %v, want a NoRestart error: demo.tls: FILE: missing", err)
	}
}
