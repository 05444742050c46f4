package echoserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/apps"
	_ "tether/internal/apps/echoserver"
	"tether/internal/certs"
	"tether/internal/config"
	"tether/internal/tethertest"
)

// runApp runs the registered echoserver app with cfg until the test ends and
// returns the addresses it reports ready, or its error if it fails first.
func runApp(t *testing.T, cfg *config.Config) (map[string]string, error) {
	t.Helper()
	ctor, ok := apps.Lookup("echoserver")
	if !ok {
		t.Fatal(`no "echoserver" app registered`)
	}
	ready := make(chan map[string]string, 1)
	env := &apps.Env{Config: cfg, Ready: func(a map[string]string) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctor().Run(ctx, env) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after its context ended: got %v, want nil", err)
		}
		done <- nil
	})
	select {
	case a := <-ready:
		return a, nil
	case err := <-done:
		done <- nil
		return nil, err
	case <-time.After(10 * time.Second):
		t.Fatal("echoserver not ready after 10 s")
	}
	return nil, nil
}

func echoConfig(root string, tlsCfg *config.TLS) *config.Config {
	cfg := config.Default()
	cfg.Root = root
	cfg.App.EchoServer = config.EchoServer{ListenAddr: "127.0.0.1", ListenPort: 0, TLS: tlsCfg}
	return cfg
}

func TestAppPlain(t *testing.T) {
	addrs, err := runApp(t, echoConfig("", nil))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://"+addrs["ws"]+"/")
	roundTrip(t, c)
}

func TestAppTLS(t *testing.T) {
	root := t.TempDir()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Write(filepath.Join(root, "certs"), "server", false); err != nil {
		t.Fatal(err)
	}
	addrs, err := runApp(t, echoConfig(root, &config.TLS{Enabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c := tethertest.DialWS(t, "wss://"+addrs["wss"]+"/", tethertest.WSOptions{TLS: &tls.Config{RootCAs: pool}})
	roundTrip(t, c.Conn)
}

// Configured files that are missing are fatal. (At the default files, a
// missing pair is made instead: see package devtls.)
func TestAppTLSMissingCertIsFatal(t *testing.T) {
	_, err := runApp(t, echoConfig(t.TempDir(), &config.TLS{Enabled: true, Cert: "tls/echo.crt", Key: "tls/echo.key"}))
	var nr interface{ NoRestart() bool }
	if err == nil || !errors.As(err, &nr) || !nr.NoRestart() || !strings.Contains(err.Error(), "echoserver.tls") {
		t.Fatalf("Run with no certificate: got %v, want an echoserver.tls error that asks not to be restarted", err)
	}
}

func roundTrip(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("over the app")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || string(b) != "over the app" {
		t.Fatalf("echo: got %q, %v", b, err)
	}
}
