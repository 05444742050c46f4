package enroll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCodes(t *testing.T) {
	cs := NewCodes()
	now := time.Now()
	code, err := cs.Make(Code{Device: "d1", Expires: now.Add(time.Minute)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != CodeLen+3 || strings.Count(code, "-") != 3 {
		t.Fatalf("code %q: want XXXX-XXXX-XXXX-XXXX", code)
	}
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	if _, err := cs.Use(typed, "d2", now); !errors.Is(err, ErrWrongDevice) {
		t.Fatalf("another device: %v", err)
	}
	if c, err := cs.Use(typed, "d1", now); err != nil || c.Device != "d1" {
		t.Fatalf("typed in lower case with spaces: %v %+v", err, c)
	}
	if _, err := cs.Use(code, "d1", now); !errors.Is(err, ErrUsedCode) || !errors.Is(err, ErrRefused) {
		t.Fatalf("twice: %v", err)
	}
	late, _ := cs.Make(Code{Expires: now.Add(time.Second)}, now)
	if _, err := cs.Use(late, "d1", now.Add(time.Second)); !errors.Is(err, ErrExpiredCode) {
		t.Fatalf("at its expiry: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 17), "UUUU-UUUU-UUUU-UUUU"} {
		if _, err := cs.Use(bad, "d1", now); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("Use(%q) = %v, want unknown", bad, err)
		}
	}
	if got, ok := NormalCode("o1il-0000-0000-0000"); !ok || got != "0111000000000000" {
		t.Errorf("NormalCode read O, I, L as %q %v", got, ok)
	}
}

func TestTooManyCodes(t *testing.T) {
	cs := NewCodes()
	now := time.Now()
	for i := 0; i < MaxCodes; i++ {
		if _, err := cs.Make(Code{Expires: now.Add(time.Minute)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Make(Code{Expires: now.Add(time.Minute)}, now); !errors.Is(err, ErrTooManyCodes) {
		t.Fatalf("past MaxCodes: %v", err)
	}
	if _, err := cs.Make(Code{Expires: now.Add(3 * time.Hour)}, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("once the old ones expired: %v", err)
	}
}

func TestParseURI(t *testing.T) {
	pin := "sha256:" + strings.Repeat("ab", 32)
	u := URI("wss://hub.example:7770", "K7QX-M2PA-9DTR-WJ4H", pin)
	tk, err := ParseURI(u)
	if err != nil || tk.Hub != "wss://hub.example:7770" || tk.Code != "K7QX-M2PA-9DTR-WJ4H" || tk.Pin != pin {
		t.Fatalf("ParseURI(%q) = %+v, %v", u, tk, err)
	}
	for _, bad := range []string{"https://x/enroll?hub=a&code=b", "tether://enroll?hub=a", "tether://enroll?hub=a&code=b&ca=sha256:zz"} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q) accepted", bad)
		}
	}
}

func csrPEM(t *testing.T, key any, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestParseCSR(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1k, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := csrPEM(t, p256, "Device_7")
	tampered := strings.Replace(good, good[100:104], "AAAA", 1)
	tests := []struct{ csr, want string }{
		{good, ""},
		{csrPEM(t, p256, "../etc"), "common name"},
		{csrPEM(t, p224, "d1"), "P-256 or P-384"},
		{csrPEM(t, rsa1k, "d1"), "RSA of 1024 bits"},
		{"not pem", "want a PEM"},
		{tampered, "bad certificate request"},
	}
	for _, tt := range tests {
		_, err := ParseCSR(tt.csr)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ParseCSR: %v, want %q", err, tt.want)
		}
	}
}

// FuzzParseCSR feeds any text to the hub's reading of a request: it never
// panics, and accepts only requests for a device id.
func FuzzParseCSR(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "d1"}}, key)
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	f.Add("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		csr, err := ParseCSR(s)
		if err == nil && csr.Subject.CommonName == "" {
			t.Fatal("accepted a request without a device id")
		}
	})
}
