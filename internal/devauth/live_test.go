package devauth_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/localpeer"
)

// TestLiveConnectionsEndAtChange: a lasting request (an upgrade) the old
// password proved ends, with ErrPasswordChanged as its context's cause,
// when the password changes on the page; one of a trusted local process
// (no credential, "auth" on) goes on.
func TestLiveConnectionsEndAtChange(t *testing.T) {
	root := t.TempDir()
	g := devauth.New(devauth.Options{Root: root, HashCost: 4})
	g.Configure(config.AuthOn)
	if err := devauth.SetPassword(root, "the old password"); err != nil {
		t.Fatal(err)
	}
	causes := make(chan error, 2)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		causes <- context.Cause(r.Context())
	})
	srv := httptest.NewUnstartedServer(g.Handler(app, devauth.HandlerOptions{}))
	srv.Config.ConnContext = localpeer.ConnContext
	srv.Start()
	defer srv.Close()

	bearer := upgrade(t, srv.URL, "Authorization: Bearer the old password")
	local := upgrade(t, srv.URL) // trusted: this process, on loopback, "auth" on
	form := url.Values{"old": {"the old password"}, "new": {"the new password"}, "again": {"the new password"}}
	req, _ := http.NewRequest("POST", srv.URL+"/tether/password", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer the old password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("change: %s", resp.Status)
	}
	select {
	case err := <-causes:
		if !errors.Is(err, devauth.ErrPasswordChanged) {
			t.Fatalf("the old password's connection ended with %v, want ErrPasswordChanged", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old password's connection still open 10 s after the change")
	}
	bearer.Close()
	local.Close() // only now does the trusted one end
	select {
	case err := <-causes:
		if errors.Is(err, devauth.ErrPasswordChanged) {
			t.Fatalf("a trusted local connection ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the trusted local connection did not end when it closed")
	}
}

// upgrade sends an upgrade request with extra header lines and returns
// the connection once the 200 came back.
func upgrade(t *testing.T, base string, extra ...string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + strings.Join(append(extra, ""), "\r\n") + "\r\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("upgrade: %q %v", line, err)
	}
	return c
}
