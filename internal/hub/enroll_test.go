package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/enroll"
	"tether/internal/tethertest"
)

// enrollTestHub serves a TLS hub whose certificate and enrolled devices
// come from one CA (certs.NewCA, as tether certs init makes it).
func enrollTestHub(t *testing.T) (h *testHub, ca *certs.Pair, file string) {
	t.Helper()
	ca, tc := tethertest.LocalCA(t)
	a, _ := ParseAuth([]byte(`{"devices": {}, "pages": [{"token": "root"}]}`), "auth.json")
	file = filepath.Join(t.TempDir(), "enrolled.json")
	h = startHub(t, Options{Auth: a, TLS: &tls.Config{Certificates: []tls.Certificate{tc}}, EnrollCA: ca, EnrollFile: file})
	return h, ca, file
}

// enrollOne enrolls device id with a code the hub makes and returns its
// client certificate.
func enrollOne(t *testing.T, h *testHub, ca *certs.Pair, id string) tls.Certificate {
	t.Helper()
	code, err := h.codes.Make(enroll.Code{Device: id, By: "test", Expires: time.Now().Add(time.Minute)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := enroll.Enroll(context.Background(), enroll.Options{ID: id,
		Ticket: enroll.Ticket{Hub: strings.TrimSuffix(h.devURL, "/"), Code: code, Pin: enroll.CAPin(ca.Cert)}})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tls.X509KeyPair(res.Pair.CertPEM, res.Pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// certDial dials url as a device with cert, trusting ca.
func certDial(t *testing.T, url string, ca *certs.Pair, cert tls.Certificate) (*tethertest.WS, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c, _, err := tethertest.TryDialWS(t, url, tethertest.WSOptions{TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}})
	return c, err
}

func TestEnrolledCertificateIsACredentialUntilTakenOut(t *testing.T) {
	h, ca, file := enrollTestHub(t)
	cert := enrollOne(t, h, ca, "d7")
	if _, err := certDial(t, h.devURL+"d8", ca, cert); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("d7's certificate as d8: %v, want 401", err)
	}
	dev, err := certDial(t, h.devURL+"d7", ca, cert)
	if err != nil {
		t.Fatalf("enrolled device: %v", err)
	}
	changed := time.Now()
	if err := os.WriteFile(file, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, dev, changed, time.Second, codeRevoked, reasonRevoked)
	if _, err := certDial(t, h.devURL+"d7", ca, cert); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("revoked certificate: %v, want 401", err)
	}
	// Enrolling again replaces the certificate: the old one is refused.
	fresh := enrollOne(t, h, ca, "d7")
	if _, err := certDial(t, h.devURL+"d7", ca, fresh); err != nil {
		t.Fatalf("enrolled again: %v", err)
	}
	if _, err := certDial(t, h.devURL+"d7", ca, cert); err == nil {
		t.Fatal("the replaced certificate still works")
	}
}

func TestEnrollmentRefusals(t *testing.T) {
	h, ca, _ := enrollTestHub(t)
	ticket := enroll.Ticket{Hub: strings.TrimSuffix(h.devURL, "/"), Pin: enroll.CAPin(ca.Cert)}
	try := func(code, id string) error {
		ticket.Code = code
		_, err := enroll.Enroll(context.Background(), enroll.Options{ID: id, Ticket: ticket})
		return err
	}
	now := time.Now()
	forD1, _ := h.codes.Make(enroll.Code{Device: "d1", Expires: now.Add(time.Minute)}, now)
	expired, _ := h.codes.Make(enroll.Code{Expires: now.Add(-time.Second)}, now)
	other, _ := certs.NewCA(certs.CAOptions{})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown", try("AAAA-BBBB-CCCC-DDDD", "d1"), "unknown code"},
		{"not a code", try("hello", "d1"), "unknown code"},
		{"another device", try(forD1, "d2"), "code made for another device"},
		{"expired", try(expired, "d1"), "code expired"},
		{"its device", try(forD1, "d1"), ""},
		{"twice", try(forD1, "d1"), "code already used"},
	}
	ticket.Pin = enroll.CAPin(other.Cert)
	tests = append(tests, struct {
		name string
		err  error
		want string
	}{"wrong pin", try(forD1, "d1"), "not the hub the code was made on"})
	for _, tt := range tests {
		if tt.want == "" && tt.err != nil || tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, tt.err, tt.want)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	req, _ := http.NewRequest("GET", h.httpURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer root")
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `tether_hub_enrollments_total{result="unknown_code"} 2`) {
		t.Errorf("unknown codes not counted twice:\n%s", b)
	}
}

func TestAPIEnrollMakesCodesForOperators(t *testing.T) {
	h, ca, _ := enrollTestHub(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	post := func(token, ctype, body string) (int, CodeInfo) {
		req, _ := http.NewRequest("POST", h.httpURL+"/api/enroll", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ctype)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info CodeInfo
		json.NewDecoder(resp.Body).Decode(&info)
		return resp.StatusCode, info
	}
	code, info := post("root", "application/json", `{"device": "d9", "ttl": "1h"}`)
	if code != 200 || info.Device != "d9" || !strings.HasPrefix(info.QR, "data:image/png;base64,") ||
		!strings.HasPrefix(info.URI, "tether://enroll?") || info.Hub != "wss://"+strings.TrimPrefix(strings.TrimSuffix(h.devURL, "/"), "wss://") {
		t.Fatalf("POST /api/enroll = %d %+v", code, info)
	}
	if time.Until(info.Expires) < 59*time.Minute {
		t.Errorf("expires %v, want in an hour", info.Expires)
	}
	if code, _ := post("root", "text/plain", `{}`); code != http.StatusBadRequest {
		t.Errorf("a form post (cross-site without preflight): %d, want 400", code)
	}
	if code, _ := post("root", "application/json", `{"ttl": "9999h"}`); code != http.StatusBadRequest {
		t.Errorf("a code for a year: %d, want 400", code)
	}
}
