package tethertest

import (
	"crypto/tls"
	"net"
	"testing"

	"tether/internal/certs"
)

// LocalCA makes a CA, as tether certs init does, and a server certificate
// it signs for 127.0.0.1, as a hub serving TLS (and enrollment) on the
// test's loopback uses them.
func LocalCA(t testing.TB) (ca *certs.Pair, server tls.Certificate) {
	t.Helper()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	server, err = tls.X509KeyPair(srv.CertPEM, srv.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return ca, server
}
