package devauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/localpeer"
	"tether/internal/tethertest"
)

// get sends GET url from this process with the Host host ("": the
// URL's) and header pairs, and returns the status and the body.
func get(t *testing.T, url, host string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noFollow(nil).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLocalTrust: with "auth" on, a request over loopback from this
// process's own user needs no password, page and Proven alike, unless it
// carries a proxy's forwarding header or is addressed to a name that is
// not local, or gives a wrong password; the log says who is trusted and
// never the password; "strict" asks everyone again.
func TestLocalTrust(t *testing.T) {
	if !localpeer.Supported {
		t.Skip("no local trust on this system")
	}
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthOn)
	pw := r.shown(t)
	proven := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.g.Proven(req); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "proven")
	}))
	proven.Config.ConnContext = localpeer.ConnContext
	proven.Start()
	defer proven.Close()

	if code, body := get(t, r.url+"/", ""); code != 200 || body != "app" {
		t.Errorf("GET / from this user on loopback: %d %q, want 200 app", code, body)
	}
	if code, body := get(t, proven.URL, ""); code != 200 {
		t.Errorf("Proven from this user on loopback: %d %q", code, body)
	}
	if code, _ := get(t, r.url+"/", "localhost"+r.url[strings.LastIndexByte(r.url, ':'):]); code != 200 {
		t.Errorf("GET / addressed to localhost: %d, want 200", code)
	}
	who := fmt.Sprintf("local processes of uid %d and root are trusted on loopback", os.Geteuid())
	if os.Geteuid() == 0 {
		who = "local processes of root (uid 0) are trusted on loopback"
	}
	if log := r.log.String(); !strings.Contains(log, who) || strings.Contains(log, pw) {
		t.Errorf("the log does not say %q, or holds the password:\n%s", who, log)
	}

	for _, tc := range []struct {
		name, host string
		hdr        []string
	}{
		{"X-Forwarded-For", "", []string{"X-Forwarded-For", "192.0.2.7"}},
		{"Forwarded", "", []string{"Forwarded", "for=192.0.2.7"}},
		{"X-Real-IP", "", []string{"X-Real-IP", "192.0.2.7"}},
		{"a name that is not local (DNS rebinding)", "attacker.example", nil},
		{"a wrong password", "", []string{"Authorization", "Bearer wrong"}},
	} {
		if code, body := get(t, r.url+"/", tc.host, tc.hdr...); code != 401 {
			t.Errorf("GET / from this user on loopback with %s: %d %q, want 401", tc.name, code, body)
		}
		if code, _ := get(t, proven.URL, tc.host, tc.hdr...); code != 401 {
			t.Errorf("Proven with %s: %d, want 401", tc.name, code)
		}
	}

	r.g.Configure(config.AuthStrict)
	if code, _ := get(t, r.url+"/", ""); code != 401 {
		t.Errorf(`GET / from this user on loopback with "auth": "strict": %d, want 401`, code)
	}
	if code, _ := get(t, proven.URL, ""); code != 401 {
		t.Errorf(`Proven with "auth": "strict": %d, want 401`, code)
	}
	if code, _ := get(t, r.url+"/", "", "Authorization", "Bearer "+pw); code != 200 {
		t.Errorf(`the password with "auth": "strict": %d, want 200`, code)
	}
}

// TestLocalTrustOtherUser: a process of another user on the same host
// (nobody, 65534: not this process's user, not root) gets no trust. It
// needs root to start one; a table naming another uid is checked without
// root in package localpeer.
func TestLocalTrustOtherUser(t *testing.T) {
	if !localpeer.Supported || os.Geteuid() != 0 {
		t.Skip("starting a process as another user needs root (and Linux)")
	}
	r := newRig(t, t.TempDir())
	r.g.Configure(config.AuthOn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)`
	cmd := exec.CommandContext(ctx, tethertest.Python, "-c", script, r.url+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python as nobody: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "401" {
		t.Errorf("GET / from another user on loopback: %s, want 401", got)
	}
	if code, _ := get(t, r.url+"/", ""); code != 200 {
		t.Errorf("GET / from root meanwhile: %d, want 200", code)
	}
}
