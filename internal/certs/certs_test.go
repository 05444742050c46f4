package certs_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/tethertest"
)

// makeAll writes a CA, a server certificate for hub.example and 127.0.0.1,
// and a Device_1 client certificate into a fresh folder.
func makeAll(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.Server(ca, certs.ServerOptions{Names: []string{"hub.example", "localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := certs.Device(ca, certs.DeviceOptions{ID: "Device_1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*certs.Pair{"ca": ca, "server": srv, "Device_1": dev} {
		if _, _, err := p.Write(dir, name, false); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpenSSLAgrees(t *testing.T) {
	tethertest.Need(t, "openssl")
	dir := makeAll(t)
	ca := filepath.Join(dir, "ca.crt")
	tests := []struct {
		file string
		want []string // substrings of openssl x509 -text
	}{
		{"ca.crt", []string{"Subject: CN = tether CA", "CA:TRUE", "Certificate Sign", "ASN1 OID: prime256v1"}},
		{"server.crt", []string{"Subject: CN = hub.example", "DNS:hub.example", "DNS:localhost", "IP Address:127.0.0.1", "TLS Web Server Authentication", "Issuer: CN = tether CA"}},
		{"Device_1.crt", []string{"Subject: CN = Device_1", "TLS Web Client Authentication", "Issuer: CN = tether CA"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join(dir, tt.file)
			out, err := exec.Command("openssl", "verify", "-CAfile", ca, file).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": OK") {
				t.Fatalf("openssl verify %s: %v\n%s", tt.file, err, out)
			}
			text, err := exec.Command("openssl", "x509", "-noout", "-text", "-in", file).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl x509: %v\n%s", err, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(text), w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
		})
	}
	t.Run("keys", func(t *testing.T) {
		for _, k := range []string{"ca.key", "server.key", "Device_1.key"} {
			out, err := exec.Command("openssl", "pkey", "-noout", "-in", filepath.Join(dir, k)).CombinedOutput()
			if err != nil {
				t.Errorf("openssl pkey %s: %v\n%s", k, err, out)
			}
		}
	})
}

func TestFileModes(t *testing.T) {
	dir := makeAll(t)
	for name, want := range map[string]fs.FileMode{
		"ca.key": 0o600, "server.key": 0o600, "Device_1.key": 0o600,
		"ca.crt": 0o644, "server.crt": 0o644, "Device_1.crt": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 6 {
		t.Errorf("folder holds %d files, want 6 (no temporary files left)", len(entries))
	}
}

func TestWriteNeverOverwrites(t *testing.T) {
	dir := makeAll(t)
	keyFile := filepath.Join(dir, "Device_1.key")
	before, _ := os.ReadFile(keyFile)
	ca, err := certs.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := certs.Device(ca, certs.DeviceOptions{ID: "Device_1"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = dev.Write(dir, "Device_1", false)
	var fe *certs.FileError
	if !errors.Is(err, certs.ErrExists) || !errors.As(err, &fe) || !strings.HasSuffix(fe.Path, "Device_1.key") {
		t.Fatalf("Write over existing files: got %v, want ErrExists naming Device_1.key", err)
	}
	if after, _ := os.ReadFile(keyFile); string(after) != string(before) {
		t.Fatal("refused Write changed the key file")
	}
	// Only the certificate exists: still refused, and no key is written.
	os.Remove(keyFile)
	if _, _, err := dev.Write(dir, "Device_1", false); !errors.Is(err, certs.ErrExists) {
		t.Fatalf("Write over existing certificate: got %v, want ErrExists", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("refused Write created the key file")
	}
	os.Chmod(filepath.Join(dir, "Device_1.crt"), 0o666)
	if _, _, err := dev.Write(dir, "Device_1", true); err != nil {
		t.Fatalf("Write with force: %v", err)
	}
	p, err := certs.LoadPair(certs.Paths(dir, "Device_1"))
	if err != nil || p.Fingerprint() != dev.Fingerprint() {
		t.Fatalf("after force: got %v, %v; want the new certificate", p, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "Device_1.crt"))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("forced certificate mode %v, want 0644", fi.Mode().Perm())
	}
}

// TestTLSHandshake runs real handshakes between a server using server.crt
// that requires client certificates from ca.crt, and clients that present a
// device certificate or not.
func TestTLSHandshake(t *testing.T) {
	dir := makeAll(t)
	other := t.TempDir()
	otherCA, _ := certs.NewCA(certs.CAOptions{Name: "other CA"})
	otherDev, _ := certs.Device(otherCA, certs.DeviceOptions{ID: "Device_1"})
	otherCA.Write(other, "ca", false)
	otherDev.Write(other, "Device_1", false)

	crt, key := certs.Paths(dir, "server")
	srvCfg, err := certs.ServerTLS(crt, key, filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				c.Close()
				continue
			}
			id := certs.PeerID(tc.ConnectionState().VerifiedChains)
			tc.Write([]byte(id + "\n"))
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()

	tests := []struct {
		name       string
		ca, cert   string // file names in dir (or other)
		serverName string
		wantID     string // "" means the handshake must fail
	}{
		{"device by IP", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "Device_1"), "", "Device_1"},
		{"device by name", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "Device_1"), "hub.example", "Device_1"},
		{"no client certificate", filepath.Join(dir, "ca.crt"), "", "", ""},
		{"client certificate of another CA", filepath.Join(dir, "ca.crt"), filepath.Join(other, "Device_1"), "", ""},
		{"client trusts another CA", filepath.Join(other, "ca.crt"), filepath.Join(dir, "Device_1"), "", ""},
		{"wrong server name", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "Device_1"), "evil.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certFile, keyFile := "", ""
			if tt.cert != "" {
				certFile, keyFile = tt.cert+".crt", tt.cert+".key"
			}
			cfg, err := certs.ClientTLS(tt.ca, certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ServerName = tt.serverName
			if cfg.ServerName == "" {
				cfg.ServerName = "127.0.0.1"
			}
			id, err := handshake(ln.Addr().String(), cfg)
			if tt.wantID == "" {
				if err == nil {
					t.Fatalf("handshake succeeded with id %q, want failure", id)
				}
				return
			}
			if err != nil || id != tt.wantID {
				t.Fatalf("got id %q, err %v; want %q", id, err, tt.wantID)
			}
		})
	}
}

// handshake connects and returns the line the server writes (the id it saw).
func handshake(addr string, cfg *tls.Config) (string, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestLoadErrors(t *testing.T) {
	dir := makeAll(t)
	path := func(n string) string { return filepath.Join(dir, n) }
	os.WriteFile(path("garbage.crt"), []byte("not pem"), 0o644)
	os.WriteFile(path("key-as-cert.crt"), mustRead(t, path("ca.key")), 0o644)
	os.Mkdir(path("folder.crt"), 0o755)
	ca, _ := certs.LoadCA(dir)
	old, _ := certs.Device(ca, certs.DeviceOptions{ID: "Old", Days: 1, Now: time.Now().AddDate(0, 0, -10)})
	old.Write(dir, "Old", false)
	oldCA, _ := certs.NewCA(certs.CAOptions{Days: 1, Now: time.Now().AddDate(0, 0, -10)})
	oldCA.Write(dir, "oldca", false)

	tests := []struct {
		name              string
		ca, cert, key     string
		wantFile, wantErr string
	}{
		{"missing CA", "nope.crt", "", "", "nope.crt", "missing"},
		{"missing cert", "ca.crt", "nope.crt", "server.key", "nope.crt", "missing"},
		{"missing key", "ca.crt", "server.crt", "nope.key", "nope.key", "missing"},
		{"unreadable", "folder.crt", "", "", "folder.crt", "unreadable"},
		{"bad PEM CA", "garbage.crt", "", "", "garbage.crt", "bad PEM"},
		{"key as cert", "ca.crt", "key-as-cert.crt", "ca.key", "key-as-cert.crt", `got "PRIVATE KEY"`},
		{"cert as key", "ca.crt", "server.crt", "server.crt", "server.crt", `bad PEM: want a "PRIVATE KEY" block, got "CERTIFICATE"`},
		{"key mismatch", "ca.crt", "server.crt", "Device_1.key", "Device_1.key", "key does not match certificate"},
		{"expired cert", "ca.crt", "Old.crt", "Old.key", "Old.crt", "certificate expired at"},
		{"expired CA", "oldca.crt", "", "", "oldca.crt", "certificate expired at"},
		{"cert without key", "ca.crt", "server.crt", "", "key file", "got none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := tt.cert, tt.key
			if cert != "" {
				cert = path(cert)
			}
			if key != "" {
				key = path(key)
			}
			_, err := certs.ClientTLS(path(tt.ca), cert, key)
			if err == nil {
				t.Fatal("ClientTLS succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantFile) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %q, want it to name %q and say %q", err, tt.wantFile, tt.wantErr)
			}
		})
	}
	t.Run("errors.Is", func(t *testing.T) {
		_, err := certs.ServerTLS(path("Old.crt"), path("Old.key"), "")
		if !errors.Is(err, certs.ErrExpired) {
			t.Errorf("expired: got %v, want ErrExpired", err)
		}
		_, err = certs.ServerTLS(path("server.crt"), path("ca.key"), "")
		if !errors.Is(err, certs.ErrKeyMismatch) {
			t.Errorf("mismatch: got %v, want ErrKeyMismatch", err)
		}
		_, err = certs.ServerTLS(path("nope.crt"), path("ca.key"), "")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing: got %v, want fs.ErrNotExist", err)
		}
		if _, err := certs.LoadCA(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadCA of an empty folder: got %v, want fs.ErrNotExist", err)
		}
	})
}

func TestDeviceIDs(t *testing.T) {
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"Device_1", true}, {"esp32-a.b", true}, {strings.Repeat("a", 64), true}, {"_x", true},
		{"", false}, {"../etc", false}, {".hidden", false}, {"a/b", false}, {"has space", false}, {strings.Repeat("a", 65), false},
	} {
		_, err := certs.Device(ca, certs.DeviceOptions{ID: tt.id})
		if (err == nil) != tt.ok {
			t.Errorf("Device(%q): got err %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestValidity(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ca, err := certs.NewCA(certs.CAOptions{Days: 100, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.NotAfter.Equal(now.AddDate(0, 0, 100)) || !ca.Cert.IsCA || ca.Cert.SerialNumber.BitLen() < 64 {
		t.Fatalf("CA: NotAfter %v, IsCA %v, serial %v", ca.Cert.NotAfter, ca.Cert.IsCA, ca.Cert.SerialNumber)
	}
	srv, err := certs.Server(ca, certs.ServerOptions{Names: []string{"x"}, Days: 1000, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !srv.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("server outliving its CA: NotAfter %v, want cut to %v", srv.Cert.NotAfter, ca.Cert.NotAfter)
	}
	if _, err := certs.NewCA(certs.CAOptions{Days: -1}); err == nil {
		t.Error("NewCA with -1 days succeeded, want an error")
	}
	if _, err := certs.Server(ca, certs.ServerOptions{}); err == nil {
		t.Error("Server with no names succeeded, want an error")
	}
	a, _ := certs.NewCA(certs.CAOptions{})
	b, _ := certs.NewCA(certs.CAOptions{})
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
