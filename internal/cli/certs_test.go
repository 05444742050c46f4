package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tether/internal/cli"
	"tether/internal/tethertest"
)

func certsRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), err
}

func TestCertsInProcess(t *testing.T) {
	tethertest.Need(t, "openssl")
	dir := t.TempDir()
	steps := []struct {
		name    string
		args    []string
		want    []string // substrings of the output, or of the error
		wantErr bool
		usage   bool // the error is a *cli.UsageError
	}{
		{"device before init", []string{"certs", "device", "--dir", dir, "Device_1"}, []string{"no CA in " + dir, "ca.crt: missing", "tether certs init --dir " + dir}, true, true},
		{"server before init", []string{"certs", "server", "--dir", dir, "--name", "hub.example"}, []string{"no CA in " + dir, "tether certs init --dir " + dir}, true, true},
		{"init", []string{"certs", "init", "--dir", dir, "--name", "Test CA", "--days", "30"}, []string{"ca.crt", `CN="Test CA"`, "SHA-256 ", "ca.key  private key (mode 0600)"}, false, false},
		{"init again", []string{"certs", "init", "--dir", dir}, []string{"ca.key: already exists (use --force to replace it)"}, true, false},
		{"server", []string{"certs", "server", "--dir", dir, "--name", "hub.example", "--name", "localhost", "--ip", "127.0.0.1", "--ip", "::1"},
			[]string{"server.crt", "DNS:hub.example DNS:localhost IP:127.0.0.1 IP:::1"}, false, false},
		{"server --out", []string{"certs", "server", "--dir", dir, "--ip", "10.0.0.2", "--out", "web"}, []string{"web.crt", "web.key"}, false, false},
		{"server --name of an address", []string{"certs", "server", "--dir", dir, "--name", "192.168.1.20", "--out", "byip"}, []string{"byip.crt", "IP:192.168.1.20"}, false, false},
		{"server without names", []string{"certs", "server", "--dir", dir}, []string{"no --name or --ip"}, true, true},
		{"server bad ip", []string{"certs", "server", "--dir", dir, "--ip", "nope"}, []string{"nope"}, true, true},
		{"device", []string{"certs", "device", "--dir", dir, "Device_1"}, []string{"Device_1.crt", `CN="Device_1"`}, false, false},
		{"device again", []string{"certs", "device", "--dir", dir, "Device_1"}, []string{"Device_1.key: already exists"}, true, false},
		{"device --force", []string{"certs", "device", "--dir", dir, "Device_1", "--force"}, []string{"Device_1.crt"}, false, false},
		{"device bad id", []string{"certs", "device", "--dir", dir, "../x"}, []string{`"../x" starts with`}, true, true},
		{"bad days", []string{"certs", "device", "--dir", dir, "Device_2", "--days", "0"}, []string{"--days: got 0"}, true, true},
		{"no dir", []string{"certs", "init"}, []string{`"dir" not set`}, true, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, err := certsRun(t, st.args...)
			if (err != nil) != st.wantErr {
				t.Fatalf("error %v, want error %v\n%s", err, st.wantErr, out)
			}
			var ue *cli.UsageError
			if st.usage && !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error", err)
			}
			got := out
			if err != nil {
				got += err.Error()
			}
			if ue != nil {
				got += "\n" + ue.Hint
			}
			for _, w := range st.want {
				if !strings.Contains(got, w) {
					t.Errorf("output %q lacks %q", got, w)
				}
			}
		})
	}
	ca := filepath.Join(dir, "ca.crt")
	for _, c := range []string{"server.crt", "web.crt", "Device_1.crt"} {
		if out, err := exec.Command("openssl", "verify", "-CAfile", ca, filepath.Join(dir, c)).CombinedOutput(); err != nil {
			t.Errorf("openssl verify %s: %v\n%s", c, err, out)
		}
	}
}

// TestCertsBinary runs the real binary: files, modes, fingerprints as
// openssl prints them, and the refusal to overwrite with exit status 1.
func TestCertsBinary(t *testing.T) {
	tethertest.Need(t, "openssl")
	dir := filepath.Join(t.TempDir(), "new", "certs")
	run := func(args ...string) (string, int) { return runBinary(t, "", append([]string{"certs"}, args...)...) }
	out, code := run("init", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	fp := regexp.MustCompile(`SHA-256 ([0-9A-F:]{95})`).FindStringSubmatch(out)
	if fp == nil {
		t.Fatalf("init output lacks a SHA-256 fingerprint:\n%s", out)
	}
	ssl, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(dir, "ca.crt")).CombinedOutput()
	if err != nil || !strings.Contains(string(ssl), fp[1]) {
		t.Errorf("openssl fingerprint %q (%v), tether printed %s", ssl, err, fp[1])
	}
	if out, code := run("server", "--dir", dir, "--name", "hub.example", "--ip", "127.0.0.1"); code != 0 {
		t.Fatalf("server: exit %d\n%s", code, out)
	}
	if out, code := run("device", "--dir", dir, "Device_1"); code != 0 {
		t.Fatalf("device: exit %d\n%s", code, out)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "Device_1.key"))
	out, code = run("device", "--dir", dir, "Device_1")
	if code != 1 || !strings.Contains(out, "Error: "+filepath.Join(dir, "Device_1.key")+": already exists (use --force to replace it)") {
		t.Errorf("device again: exit %d, want 1 naming the key file:\n%s", code, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "Device_1.key")); !bytes.Equal(before, after) {
		t.Error("refused command changed Device_1.key")
	}
	for name, mode := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "Device_1.key": 0o600, "server.crt": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want mode %v", name, fi.Mode(), err, mode)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("certs folder: %v, want created with mode 0700", err)
	}
	text, _ := exec.Command("openssl", "x509", "-noout", "-text", "-in", filepath.Join(dir, "Device_1.crt")).CombinedOutput()
	if !strings.Contains(string(text), "Subject: CN = Device_1") || !strings.Contains(string(text), "TLS Web Client Authentication") {
		t.Errorf("openssl x509 -text of Device_1.crt:\n%s", text)
	}
	verify, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "Device_1.crt")).CombinedOutput()
	if err != nil {
		t.Errorf("openssl verify: %v\n%s", err, verify)
	}
}

// TestCertsWithHub is the whole story with real processes: certificates
// from tether certs, a hub serving wss:// with server.crt and checking
// device certificates against ca.crt, a page and a device (both tether ws)
// talking through it; a device without a certificate, or with another
// device's, is refused.
func TestCertsWithHub(t *testing.T) {
	dir := wsCerts(t)
	file := func(n string) string { return filepath.Join(dir, n) }
	devPort, pagePort := tethertest.FreePort(t), tethertest.FreePort(t)
	tethertest.Start(t, "hub",
		"--device-addr", fmt.Sprintf("127.0.0.1:%d", devPort), "--page-addr", fmt.Sprintf("127.0.0.1:%d", pagePort),
		"--tls-cert", file("server.crt"), "--tls-key", file("server.key"), "--client-ca", file("ca.crt"))
	tethertest.WaitPort(t, fmt.Sprintf("127.0.0.1:%d", devPort), 15*time.Second)
	tethertest.WaitPort(t, fmt.Sprintf("127.0.0.1:%d", pagePort), 15*time.Second)

	page := exec.Command(tethertest.Binary(t), "ws", "--ca", file("ca.crt"), fmt.Sprintf("wss://127.0.0.1:%d/Device_1", pagePort))
	pageIn, err := page.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pageProc := tethertest.StartCmd(t, page)
	defer pageIn.Close()
	pageProc.WaitOutput("hub/device/connected", 15*time.Second)

	devURL := func(id string) string { return fmt.Sprintf("wss://127.0.0.1:%d/%s", devPort, id) }
	devCert := []string{"--cert", file("Device_1.crt"), "--key", file("Device_1.key")}
	out, code := runBinary(t, `{"iam": "Device_1", "note": "over wss"}`+"\n",
		append([]string{"ws", "--wait", "300ms", "--ca", file("ca.crt"), devURL("Device_1")}, devCert...)...)
	if code != 0 {
		t.Fatalf("device with its certificate: exit %d\n%s", code, out)
	}
	pageProc.WaitOutput(`"note": "over wss"`, 15*time.Second)

	for name, args := range map[string][]string{
		"no client certificate": {devURL("Device_1")},
		"another device's cert": append([]string{devURL("Device_2")}, devCert...),
	} {
		out, code := runBinary(t, "hello\n", append([]string{"ws", "--wait", "300ms", "--ca", file("ca.crt")}, args...)...)
		t.Logf("%s: exit %d: %s", name, code, strings.TrimSpace(out))
		if code == 0 || strings.Contains(pageProc.Output(), "hello") {
			t.Errorf("%s: exit %d, want refused\n%s", name, code, out)
		}
	}
	pageIn.Close()
	if code := pageProc.Wait(15 * time.Second); code != 0 {
		t.Errorf("page: exit %d after end of input, want 0\n%s", code, pageProc.Output())
	}
}
