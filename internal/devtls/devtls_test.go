package devtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/config"
	"tether/internal/devtls"
)

// tetherCerts writes what `tether certs init` and `tether certs server
// --dir ROOT/certs` write: ca.crt, ca.key, server.crt, server.key.
func tetherCerts(t *testing.T, root string, opts certs.ServerOptions) *certs.Pair {
	t.Helper()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.IPs) == 0 && len(opts.Names) == 0 {
		opts.Names, opts.IPs = []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	srv, err := certs.Server(ca, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, devtls.Dir)
	for name, p := range map[string]*certs.Pair{"ca": ca, "server": srv} {
		if _, _, err := p.Write(dir, name, false); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

func TestSetupOnOff(t *testing.T) {
	on := &config.TLS{Enabled: true}
	tests := []struct {
		name    string
		files   bool // tether certs output in ROOT/certs
		noRoot  bool
		tls     *config.TLS
		wantOn  bool
		wantGen bool
	}{
		{"no root, no section", false, true, nil, false, false},
		{"seed root without certs", false, false, nil, false, false},
		{"certs dropped in, no section", true, false, nil, true, false},
		{"certs dropped in, enabled false", true, false, &config.TLS{}, false, false},
		{"certs dropped in, enabled", true, false, on, true, false},
		{"enabled, no certs: first boot", false, false, on, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			var want *certs.Pair
			if tt.files {
				want = tetherCerts(t, root, certs.ServerOptions{})
			}
			if tt.noRoot {
				root = ""
			}
			s, err := devtls.Setup(devtls.Options{Root: root, TLS: tt.tls})
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if s.On() != tt.wantOn || s.Generated != tt.wantGen {
				t.Fatalf("On %v Generated %v (%s), want %v %v", s.On(), s.Generated, s.Why, tt.wantOn, tt.wantGen)
			}
			if want != nil && s.On() && s.Fingerprint != want.Fingerprint() {
				t.Errorf("fingerprint %s, want the dropped-in certificate's %s", s.Fingerprint, want.Fingerprint())
			}
			if !s.On() && root != "" && !tt.files {
				if _, err := os.Stat(filepath.Join(root, devtls.Dir)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("plain HTTP created %s (err %v)", devtls.Dir, err)
				}
			}
		})
	}
}

// First boot makes an ECDSA P-256 self-signed certificate for the device's
// names with a 0600 key; the next boot loads it and never replaces it.
func TestFirstBoot(t *testing.T) {
	root := t.TempDir()
	hosts := devtls.Hosts{Names: []string{"device_1", "devbox"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}}
	s, err := devtls.Setup(devtls.Options{Root: root, TLS: &config.TLS{Enabled: true}, Hosts: hosts})
	if err != nil || !s.Generated {
		t.Fatalf("Setup: %+v, %v; want a generated certificate", s, err)
	}
	for file, want := range map[string]fs.FileMode{devtls.KeyFile: 0o600, devtls.CertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(root, file))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", file, fi.Mode().Perm(), err, want)
		}
	}
	p, err := certs.LoadPair(filepath.Join(root, devtls.CertFile), filepath.Join(root, devtls.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if p.Fingerprint() != s.Fingerprint {
		t.Errorf("file's fingerprint %s, Setup said %s", p.Fingerprint(), s.Fingerprint)
	}
	if p.Key.Curve.Params().Name != "P-256" || p.Cert.Issuer.String() != p.Cert.Subject.String() {
		t.Errorf("key %s, issuer %q subject %q: want P-256, self-signed", p.Key.Curve.Params().Name, p.Cert.Issuer, p.Cert.Subject)
	}
	if strings.Join(p.Cert.DNSNames, ",") != "device_1,devbox" || len(p.Cert.IPAddresses) != 1 {
		t.Errorf("SANs %v %v, want the hosts given", p.Cert.DNSNames, p.Cert.IPAddresses)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.Cert)
	if _, err := p.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "devbox"}); err != nil {
		t.Errorf("certificate trusted as itself does not verify for devbox: %v", err)
	}
	again, err := devtls.Setup(devtls.Options{Root: root, TLS: &config.TLS{Enabled: true}})
	if err != nil || again.Generated || again.Fingerprint != s.Fingerprint {
		t.Fatalf("second boot: %+v, %v; want the same certificate loaded", again, err)
	}
}

func TestDefaultHosts(t *testing.T) {
	h := devtls.DefaultHosts("Device_1", "127.0.0.1:8080")
	if len(h.IPs) != 1 || !h.IPs[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IPs %v, want the listening IP only", h.IPs)
	}
	if !contains(h.Names, "localhost") || contains(h.Names, "Device_1") {
		t.Errorf("names %v: want localhost, and no Device_1 (not a DNS name)", h.Names)
	}
	if h := devtls.DefaultHosts("dev1", ":80"); len(h.IPs) == 0 || h.Names[0] != "dev1" {
		t.Errorf("every interface: %+v, want dev1 first and the interfaces' IPs", h)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Each broken certificate gives an error naming the file and the reason.
func TestBrokenCertificates(t *testing.T) {
	crt, key := devtls.CertFile, devtls.KeyFile
	tests := []struct {
		name     string
		tls      *config.TLS
		breakIt  func(t *testing.T, root string)
		wantFile string
		wantErr  error
		wantText string
	}{
		{"key missing", nil, func(t *testing.T, root string) { rm(t, root, key) }, key, devtls.ErrHalfPair, "missing: want the key of certificate"},
		{"certificate missing", nil, func(t *testing.T, root string) { rm(t, root, crt) }, crt, devtls.ErrHalfPair, "missing: want the certificate of key"},
		{"key readable by others", nil, func(t *testing.T, root string) { chmod(t, root, key, 0o644) }, key, devtls.ErrKeyExposed, "mode 0644, want 0600"},
		{"key readable by group", nil, func(t *testing.T, root string) { chmod(t, root, key, 0o640) }, key, devtls.ErrKeyExposed, "mode 0640"},
		{"expired", nil, func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, devtls.Dir))
			tetherCerts(t, root, certs.ServerOptions{Names: []string{"localhost"}, Days: 1, Now: time.Now().AddDate(0, 0, -3)})
		}, crt, certs.ErrExpired, "certificate expired at"},
		{"key of another certificate", nil, func(t *testing.T, root string) {
			other := t.TempDir()
			tetherCerts(t, other, certs.ServerOptions{})
			rm(t, root, key)
			b, _ := os.ReadFile(filepath.Join(other, key))
			os.WriteFile(filepath.Join(root, key), b, 0o600)
		}, key, certs.ErrKeyMismatch, "key does not match certificate"},
		{"not PEM", nil, func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, crt), []byte("hello"), 0o644)
		}, crt, nil, "bad PEM"},
		{"configured files missing", &config.TLS{Enabled: true, Cert: "tls/dev.crt", Key: "tls/dev.key"}, func(*testing.T, string) {}, "tls/dev.crt", fs.ErrNotExist, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tetherCerts(t, root, certs.ServerOptions{})
			tt.breakIt(t, root)
			s, err := devtls.Setup(devtls.Options{Root: root, TLS: tt.tls, Section: "demo.tls"})
			var fe *certs.FileError
			if err == nil || !errors.As(err, &fe) {
				t.Fatalf("Setup = %+v, %v; want a *certs.FileError", s, err)
			}
			if fe.Path != filepath.Join(root, tt.wantFile) {
				t.Errorf("error names %s, want %s", fe.Path, tt.wantFile)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want it to wrap %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "demo.tls: "+fe.Path+": ") || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q, want \"demo.tls: FILE: ...%s...\"", err, tt.wantText)
			}
		})
	}
	t.Run("no root", func(t *testing.T) {
		if _, err := devtls.Setup(devtls.Options{TLS: &config.TLS{Enabled: true}}); !errors.Is(err, devtls.ErrNoRoot) {
			t.Fatalf("Setup without a root: %v, want ErrNoRoot", err)
		}
	})
	t.Run("never overwrites a lone key", func(t *testing.T) {
		root := t.TempDir()
		tetherCerts(t, root, certs.ServerOptions{})
		rm(t, root, crt)
		before, _ := os.ReadFile(filepath.Join(root, key))
		if _, err := devtls.Setup(devtls.Options{Root: root, TLS: &config.TLS{Enabled: true}}); !errors.Is(err, devtls.ErrHalfPair) {
			t.Fatalf("Setup: %v, want ErrHalfPair", err)
		}
		if after, _ := os.ReadFile(filepath.Join(root, key)); string(after) != string(before) {
			t.Fatal("the key was replaced")
		}
	})
}

func rm(t *testing.T, root, file string) {
	if err := os.Remove(filepath.Join(root, file)); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, root, file string, mode fs.FileMode) {
	if err := os.Chmod(filepath.Join(root, file), mode); err != nil {
		t.Fatal(err)
	}
}

// clientFor trusts the CA of a root made by tetherCerts.
func clientFor(t *testing.T, root string) *tls.Config {
	t.Helper()
	pool, err := certs.LoadPool(filepath.Join(root, devtls.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}
