package callhome_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tether/internal/callhome"
	"tether/internal/certs"
	"tether/internal/config"
	"tether/internal/tethertest"
	"tether/internal/wsconn"
)

// home is a hub stand-in: it accepts devices, records each handshake, and
// runs onConn on each connection.
type home struct {
	addr  string
	conns chan *http.Request
}

func newHome(t *testing.T, tlsCfg *tls.Config, onConn func(c *wsconn.Conn)) *home {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	h := &home{addr: ln.Addr().String(), conns: make(chan *http.Request, 100)}
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		h.conns <- r
		onConn(c)
		c.CloseNow()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return h
}

// next waits for the next device connection's handshake.
func (h *home) next(t *testing.T) *http.Request {
	t.Helper()
	select {
	case r := <-h.conns:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no device called home within 10 s")
		return nil
	}
}

// run starts callhome.Run until the test ends, serving with an echo of
// "ok" for every message.
func run(t *testing.T, opts callhome.Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- callhome.Run(ctx, opts, func(ctx context.Context, c *wsconn.Conn) error {
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					return err
				}
				if err := c.Write(ctx, append([]byte("ok "), b...)); err != nil {
					return err
				}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil when ctx ends", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	})
}

// A device calls home at /<iam> with its token, is served, and calls again
// after home drops it.
func TestReconnectsWithToken(t *testing.T) {
	got := make(chan string, 10)
	h := newHome(t, nil, func(c *wsconn.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Write(ctx, []byte("ping"))
		_, b, err := c.Read(ctx)
		got <- fmt.Sprintf("%s %v", b, err)
		c.Close(wsconn.StatusGoingAway, "home restarting")
	})
	cfg := homeConfig(h.addr)
	cfg.App.Demo.Home.Token = "s3cret"
	opts, ok, err := callhome.FromConfig(cfg)
	if err != nil || !ok {
		t.Fatalf("FromConfig: %v %v", ok, err)
	}
	opts.MinDelay, opts.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	run(t, opts)
	for i := 0; i < 3; i++ {
		r := h.next(t)
		if r.URL.Path != "/Device_1" || r.Header.Get("Authorization") != "Bearer s3cret" {
			t.Fatalf("call %d: path %q, Authorization %q", i+1, r.URL.Path, r.Header.Get("Authorization"))
		}
		if g := <-got; g != "ok ping <nil>" {
			t.Fatalf("call %d: home got %q", i+1, g)
		}
	}
}

// A link that stops answering pings is noticed within two intervals and
// the device calls again.
func TestKeepaliveDetectsDeadLink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go deafHandshake(c, accepted)
		}
	}()
	var logs syncBuffer
	run(t, callhome.Options{
		URL:          "ws://" + ln.Addr().String() + "/Device_1",
		PingInterval: 100 * time.Millisecond,
		MinDelay:     10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
	})
	for i := 0; i < 2; i++ {
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d not made: the dead link was not noticed\n%s", i+1, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "keepalive: no pong") {
		t.Fatalf("log does not say the keepalive failed:\n%s", logs.String())
	}
}

// deafHandshake answers a WebSocket handshake and then never reads again.
func deafHandshake(c net.Conn, accepted chan<- net.Conn) {
	r, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		c.Close()
		return
	}
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	accepted <- c
}

// While home is unreachable the log has one warning and then a line only
// at attempts 4, 8, 16, ...; connecting is logged once.
func TestLogsStateChangesOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every attempt fails
	var logs syncBuffer
	run(t, callhome.Options{
		URL:      "ws://" + addr + "/Device_1",
		MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	attempt := regexp.MustCompile(`attempt=(\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "attempt=32 ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if n := strings.Count(out, "home unreachable"); n != 1 {
		t.Fatalf("%d 'home unreachable' lines, want 1:\n%s", n, out)
	}
	var seen []string
	for _, m := range attempt.FindAllStringSubmatch(out, -1) {
		seen = append(seen, m[1])
	}
	if strings.Join(seen, ",") != "4,8,16,32" && !strings.HasPrefix(strings.Join(seen, ","), "4,8,16,32,") {
		t.Fatalf("still-trying lines at attempts %v, want 4,8,16,32,...:\n%s", seen, out)
	}
	// Home comes up: one "connected" line.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
		if err == nil {
			c.Read(r.Context())
		}
	})}
	go srv.Serve(ln2)
	defer srv.Close()
	for !strings.Contains(logs.String(), "connected to home") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(logs.String(), "connected to home"); n != 1 {
		t.Fatalf("%d 'connected' lines, want 1:\n%s", n, logs.String())
	}
}

// wss:// with the hub's CA and a device client certificate from the root.
func TestTLSWithClientCertificate(t *testing.T) {
	root := t.TempDir()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srvPair, err := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := certs.Device(ca, certs.DeviceOptions{ID: "Device_1"})
	if err != nil {
		t.Fatal(err)
	}
	caFile, _, err := ca.Write(root+"/certs", "ca", false)
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := srvPair.Write(t.TempDir(), "server", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dev.Write(root+"/certs", "device", false); err != nil {
		t.Fatal(err)
	}
	serverTLS, err := certs.ServerTLS(srvCert, srvKey, caFile)
	if err != nil {
		t.Fatal(err)
	}
	h := newHome(t, serverTLS, func(c *wsconn.Conn) { c.Read(context.Background()) })
	cfg := homeConfig(h.addr)
	cfg.Root = root
	cfg.App.Demo.Home.TLS = true
	cfg.App.Demo.Home.CA = "certs/" + strings.TrimPrefix(caFile, root+"/certs/")
	cfg.App.Demo.Home.Cert, cfg.App.Demo.Home.Key = "certs/device.crt", "certs/device.key"
	opts, ok, err := callhome.FromConfig(cfg)
	if err != nil || !ok {
		t.Fatalf("FromConfig: %v %v", ok, err)
	}
	if !strings.HasPrefix(opts.URL, "wss://127.0.0.1:") {
		t.Fatalf("URL %q, want wss://", opts.URL)
	}
	run(t, opts)
	r := h.next(t)
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "Device_1" {
		t.Fatalf("home saw no client certificate for Device_1: %+v", r.TLS)
	}
}

func homeConfig(addr string) *config.Config {
	host, port, _ := net.SplitHostPort(addr)
	cfg := config.Default()
	cfg.App.Demo.Home.IP = host
	fmt.Sscan(port, &cfg.App.Demo.Home.Port)
	return cfg
}

func TestFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *config.Config)
		url     string // "" means off
		wantErr string
	}{
		{"seed", func(c *config.Config) {}, "ws://127.0.0.1:7770/Device_1", ""},
		{"host wins over ip", func(c *config.Config) { c.App.Demo.Home.Host = "hub.example" }, "ws://hub.example:7770/Device_1", ""},
		{"id escaped", func(c *config.Config) { c.Network.Device.IAm = "a b/c" }, "ws://127.0.0.1:7770/a%20b%2Fc", ""},
		{"ipv6", func(c *config.Config) { c.App.Demo.Home.IP = "::1" }, "ws://[::1]:7770/Device_1", ""},
		{"seed's empty ip", func(c *config.Config) { c.App.Demo.Home.IP = "" }, "", ""},
		{"disabled", func(c *config.Config) { c.App.Demo.Home.Disabled = true }, "", ""},
		{"no id", func(c *config.Config) { c.Network.Device.IAm = "" }, "", "device.iam"},
		{"tls with a missing CA", func(c *config.Config) {
			c.App.Demo.Home.TLS, c.App.Demo.Home.CA = true, "/nonexistent/ca.crt"
		}, "", "/nonexistent/ca.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.App.Demo.Home.IP, cfg.App.Demo.Home.Port = "127.0.0.1", 7770
			cfg.Network.Device.IAm = "Device_1"
			tt.edit(cfg)
			opts, ok, err := callhome.FromConfig(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.url != "") || opts.URL != tt.url {
				t.Fatalf("FromConfig = %q, %v; want %q", opts.URL, ok, tt.url)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Report hears every change of the link: the reason an attempt failed,
// nil when a connection is up, and why it ended.
func TestReport(t *testing.T) {
	reports := make(chan error, 100)
	report := func(err error) { reports <- err }
	next := func() error {
		t.Helper()
		select {
		case err := <-reports:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("no report within 10 s")
			return nil
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	opts, _, _ := callhome.FromConfig(homeConfig(dead))
	opts.MinDelay, opts.MaxDelay, opts.Report = time.Hour, time.Hour, report
	run(t, opts)
	if err := next(); err == nil || !strings.Contains(err.Error(), "home unreachable") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a dead port reported %v", err)
	}

	h := newHome(t, nil, func(c *wsconn.Conn) { c.Close(wsconn.StatusGoingAway, "home restarting") })
	opts, _, _ = callhome.FromConfig(homeConfig(h.addr))
	opts.MinDelay, opts.MaxDelay, opts.Report = time.Hour, time.Hour, report
	run(t, opts)
	if err := next(); err != nil {
		t.Errorf("a connection up reported %v, want nil", err)
	}
	if err := next(); err == nil || !strings.Contains(err.Error(), "lost home connection") {
		t.Errorf("a connection ended reported %v", err)
	}
}

// A home with a certificate from another CA than the device trusts (an
// enrolled device's pin) is refused before the device shows its own
// certificate, and the log says so at once, even while it was already
// logging "still trying" for another reason (nothing listening).
func TestAnotherCARefusedAndExplained(t *testing.T) {
	pinned, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, srvCert := tethertest.LocalCA(t) // the impostor: a server certificate of another CA
	dev, err := certs.Device(pinned, certs.DeviceOptions{ID: "Device_1"})
	if err != nil {
		t.Fatal(err)
	}
	devCert, err := tls.X509KeyPair(dev.CertPEM, dev.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pinned.Cert)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens at first
	var logs syncBuffer
	run(t, callhome.Options{
		URL: "wss://" + addr + "/Device_1", TLS: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{devCert}},
		MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	waitLog(t, &logs, "attempt=4 ")

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	var shown, requests atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequestClientCert,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 {
					shown.Add(1)
				}
				return nil
			}},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	waitLog(t, &logs, "not signed by the CA the device trusts")
	// a few more attempts at the impostor: one logged as the same error
	// again (the attempt at which the error changed is logged as a new
	// one, whichever attempt it was)
	waitLogMatch(t, &logs, `still trying.*not signed by the CA`)

	lines := strings.Split(logs.String(), "\n")
	var warned []string
	for _, l := range lines {
		if strings.Contains(l, "home unreachable, will keep trying") {
			warned = append(warned, l)
		}
	}
	if len(warned) != 2 || !strings.Contains(warned[0], "connection refused") ||
		!strings.Contains(warned[1], "not its hub") || !strings.Contains(warned[1], "certificate signed by unknown authority") {
		t.Fatalf("want 2 warnings, nothing listening, then the untrusted certificate; got:\n%s", strings.Join(warned, "\n"))
	}
	if shown.Load() != 0 || requests.Load() != 0 {
		t.Fatalf("the home with another CA got the device's certificate %d times and %d requests, want none", shown.Load(), requests.Load())
	}
}

// waitLog waits up to 10 s for s in logs.
func waitLog(t *testing.T, logs *syncBuffer, s string) {
	t.Helper()
	waitLogMatch(t, logs, regexp.QuoteMeta(s))
}

// waitLogMatch waits up to 10 s for a line of logs that matches expr.
func waitLogMatch(t *testing.T, logs *syncBuffer, expr string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)` + expr)
	for deadline := time.Now().Add(10 * time.Second); !re.MatchString(logs.String()); {
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q in the log within 10 s:\n%s", expr, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
