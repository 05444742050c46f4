package devtls_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/devtls"
	"tether/internal/tethertest"
)

// Each broken certificate sends the device to recovery with its located
// error; recovery, unable to serve TLS at all, serves plain HTTP on its
// address (the demo's page port) and says so, with the file and the reason.
func TestBrokenCertificateRecovery(t *testing.T) {
	needBinary(t)
	crt, key := devtls.CertFile, devtls.KeyFile
	tests := []struct {
		name     string
		breakIt  func(t *testing.T, root string)
		wantFile string
		wantText string
	}{
		{"key readable by others", func(t *testing.T, root string) { chmod(t, root, key, 0o644) }, key, "private key open to others: mode 0644, want 0600"},
		{"key missing", func(t *testing.T, root string) { rm(t, root, key) }, key, "missing: want the key of certificate"},
		{"certificate missing", func(t *testing.T, root string) { rm(t, root, crt) }, crt, "missing: want the certificate of key"},
		{"expired", func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, devtls.Dir))
			tetherCerts(t, root, certs.ServerOptions{Names: []string{"localhost"}, Days: 1, Now: time.Now().AddDate(0, 0, -3)})
		}, crt, "certificate expired at"},
		{"key of another certificate", func(t *testing.T, root string) {
			other := t.TempDir()
			tetherCerts(t, other, certs.ServerOptions{})
			b, _ := os.ReadFile(filepath.Join(other, key))
			if err := os.WriteFile(filepath.Join(root, key), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, key, "key does not match certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tethertest.FreePort(t)
			root := seedRoot(t, "demo", h, h, 7777, "", "")
			tetherCerts(t, root, certs.ServerOptions{})
			tt.breakIt(t, root)
			want := filepath.Join(root, tt.wantFile) + ": " + tt.wantText
			p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
			p.WaitOutput("recovery page up", 60*time.Second)
			if !strings.Contains(p.Output(), want) || !strings.Contains(p.Output(), "url=http://127.0.0.1:"+itoa(h)+"/") {
				t.Fatalf("log lacks %q and a plain http:// recovery page:\n%s", want, p.Output())
			}
			var st struct {
				Reason string
				TLS    struct {
					On      bool
					Problem string
				}
			}
			getJSON(t, "http://127.0.0.1:"+itoa(h)+"/api/status", &st)
			if st.TLS.On || !strings.Contains(st.TLS.Problem, want) || !strings.Contains(st.Reason, want) {
				t.Fatalf("/api/status: %+v, want TLS off with problem and reason %q", st, want)
			}
			page := get(t, "http://127.0.0.1:"+itoa(h)+"/")
			if !strings.Contains(page, "Plain HTTP: TLS cannot be served") || !strings.Contains(page, tt.wantText) {
				t.Fatalf("recovery page does not say it fell back to plain HTTP and why:\n%s", page)
			}
		})
	}
}

// With a good certificate, recovery (here: for an unknown app) serves
// https:// and shows the certificate's fingerprint; plain HTTP there is
// redirected.
func TestRecoveryHTTPS(t *testing.T) {
	needBinary(t)
	h := tethertest.FreePort(t)
	root := seedRoot(t, "no_such_app", h, h, 7777, "", "")
	fp := cliCerts(t, root)
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim")
	p.WaitOutput("recovery page up", 60*time.Second)
	if !strings.Contains(p.Output(), "url=https://127.0.0.1:"+itoa(h)+"/") || !strings.Contains(p.Output(), "tls_fingerprint_sha256="+fp) {
		t.Fatalf("log lacks the https:// recovery page and fingerprint %s:\n%s", fp, p.Output())
	}
	page := httpsGet(t, root, "https://localhost:"+itoa(h)+"/")
	if !strings.Contains(page, "served over <b>HTTPS</b>") || !strings.Contains(page, fp) {
		t.Fatalf("recovery page lacks HTTPS and fingerprint %s:\n%s", fp, page)
	}
	checkPlainAnswers(t, "127.0.0.1:"+itoa(h))
}

func get(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: tethertest.DeviceClient.Transport}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
