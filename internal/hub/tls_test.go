package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// testCA makes a CA and issues certificates from it.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tether test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a certificate for cn: a server one (for 127.0.0.1) or a client one.
func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsDial(t *testing.T, url string, ca *testCA, certs ...tls.Certificate) (int, error) {
	t.Helper()
	c, resp, err := tethertest.TryDialWS(t, url, tethertest.WSOptions{TLS: &tls.Config{RootCAs: ca.pool, Certificates: certs}})
	switch {
	case err == nil:
		c.Conn.CloseNow()
		return http.StatusSwitchingProtocols, nil
	case resp != nil:
		return resp.StatusCode, nil
	}
	return 0, err
}

func TestTLSWithClientCertificates(t *testing.T) {
	ca := newTestCA(t)
	h := startHub(t, Options{
		TLS:       &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "hub", true)}},
		ClientCAs: ca.pool,
	})
	dev1 := ca.issue(t, "dev1", false)
	other := newTestCA(t).issue(t, "dev1", false)
	tests := []struct {
		name    string
		url     string
		certs   []tls.Certificate
		want    int
		wantErr bool
	}{
		{"device with its certificate", h.devURL + "dev1", []tls.Certificate{dev1}, 101, false},
		{"device with another id's certificate", h.devURL + "dev2", []tls.Certificate{dev1}, 401, false},
		{"device without a certificate", h.devURL + "dev1", nil, 0, true},
		{"device with a certificate of another CA", h.devURL + "dev1", []tls.Certificate{other}, 0, true},
		{"page over wss needs no certificate", h.pageURL + "dev1", nil, 101, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tlsDial(t, tt.url, ca, tt.certs...)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	resp, err := client.Get(h.httpURL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}
