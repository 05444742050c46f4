package wsclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/certs"
	"tether/internal/wsclient"
)

type session struct {
	out, errOut string
	res         wsclient.Result
	err         error
}

// lockedBuffer is a bytes.Buffer safe to read while a session writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func run(t *testing.T, url string, opts wsclient.Options, in io.Reader) session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut lockedBuffer
	res, err := wsclient.Run(ctx, url, opts, in, &out, &errOut)
	return session{out.String(), errOut.String(), res, err}
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestScripted(t *testing.T) {
	srv := newEchoServer(t, nil)
	tests := []struct {
		name      string
		input     string
		wantOut   []string
		wantCode  int
		byServer  bool
		wantExit  int
		wantClose []websocket.StatusCode // what the server received
	}{
		{"echo", "hello\nworld\n", []string{"echo:hello", "echo:world"}, 1000, false, 0, []websocket.StatusCode{1000}},
		{"no final newline, empty and CRLF lines", "a\r\n\nb", []string{"echo:a", "echo:b"}, 1000, false, 0, []websocket.StatusCode{1000}},
		{"server closes normally", "x\nclose 1000 done\nnever sent\n", []string{"echo:x"}, 1000, true, 0, nil},
		{"server closes with a code", "close 4001 go away\n", []string{""}, 4001, true, 2, nil},
		{"policy violation", "close 1008 no token\n", []string{""}, 1008, true, 2, nil},
		{"no input", "", []string{""}, 1000, false, 0, []websocket.StatusCode{1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.closeCodes())
			s := run(t, srv.URL("/"+tt.name), wsclient.Options{Wait: 300 * time.Millisecond}, strings.NewReader(tt.input))
			if s.err != nil {
				t.Fatalf("Run: %v\n%s", s.err, s.errOut)
			}
			if got := lines(s.out); !slices.Equal(got, tt.wantOut) {
				t.Errorf("output %q, want %q", got, tt.wantOut)
			}
			if s.res.Code != tt.wantCode || s.res.ByServer != tt.byServer {
				t.Errorf("result %+v, want code %d by server %v", s.res, tt.wantCode, tt.byServer)
			}
			if got := wsclient.ExitCode(s.res, s.err); got != tt.wantExit {
				t.Errorf("exit code %d, want %d", got, tt.wantExit)
			}
			if !strings.Contains(s.errOut, "closed") || !strings.Contains(s.errOut, closeNumber(tt.wantCode)) {
				t.Errorf("stderr %q lacks the close code %d", s.errOut, tt.wantCode)
			}
			if tt.wantClose != nil {
				waitFor(t, func() bool { return len(srv.closeCodes()) > before })
				if got := srv.closeCodes()[before:]; !slices.Equal(got, tt.wantClose) {
					t.Errorf("server received close %v, want %v", got, tt.wantClose)
				}
			}
		})
	}
}

func closeNumber(c int) string { return strconv.Itoa(c) }

func insecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// newPlainServer is an HTTP server that is no WebSocket server; it returns
// its ws:// URL.
func newPlainServer(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/nothing"
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}

func TestVerboseShowsFrames(t *testing.T) {
	srv := newEchoServer(t, nil)
	s := run(t, srv.URL("/v"), wsclient.Options{
		Verbose: true,
		Ping:    50 * time.Millisecond,
		Header:  map[string][]string{"X-Token": {"secret-1"}},
	}, strings.NewReader("hi\nping-me\nafter-ping\n"))
	if s.err != nil {
		t.Fatalf("Run: %v\n%s", s.err, s.errOut)
	}
	for _, want := range []string{
		"> GET /v HTTP/1.1",
		"> X-Token: secret-1",
		"< HTTP/1.1 101 Switching Protocols",
		`> text 2 B "hi"`,
		`< text 7 B "echo:hi"`,
		`> ping 1 B "1"`, // coder/websocket numbers its pings
		`< pong 1 B "1"`,
		`< ping 1 B "1"`, // the server's ping-me ping, answered
		`> pong 1 B "1"`,
		`> close 1000 ""`,
		`< close 1000 ""`,
		"closed: 1000 normal closure",
	} {
		if !strings.Contains(s.errOut, want+"\n") {
			t.Errorf("-v output lacks %q:\n%s", want, s.errOut)
		}
	}
	if got := lines(s.out); !slices.Contains(got, "pinged") || !slices.Contains(got, "got ping") {
		t.Errorf("output %q lacks the replies to ping-me and after-ping", got)
	}
}

func TestHeadersArrive(t *testing.T) {
	srv := newEchoServer(t, nil)
	s := run(t, srv.URL("/h"), wsclient.Options{Header: map[string][]string{
		"Authorization": {"Bearer tok"}, "X-Two": {"a", "b"},
	}}, strings.NewReader("headers\n"))
	if s.err != nil {
		t.Fatal(s.err)
	}
	for _, want := range []string{`"Authorization":["Bearer tok"]`, `"X-Two":["a","b"]`} {
		if !strings.Contains(s.out, want) {
			t.Errorf("server saw headers %s, want %s among them", s.out, want)
		}
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, _ := certs.NewCA(certs.CAOptions{})
	srvPair, _ := certs.Server(ca, certs.ServerOptions{IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	ca.Write(dir, "ca", false)
	srvPair.Write(dir, "server", false)
	serverTLS, err := certs.ServerTLS(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := newEchoServer(t, serverTLS)
	trusting, err := certs.ClientTLS(filepath.Join(dir, "ca.crt"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     func() *tls.Config
		wantErr string
	}{
		{"trusts the CA", func() *tls.Config { return trusting }, ""},
		{"insecure", func() *tls.Config { return insecure() }, ""},
		{"system roots", func() *tls.Config { return nil }, "--ca FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, srv.URL("/tls"), wsclient.Options{TLS: tt.tls(), Wait: 200 * time.Millisecond}, strings.NewReader("secure\n"))
			if tt.wantErr != "" {
				if s.err == nil || !strings.Contains(s.err.Error(), tt.wantErr) || !strings.Contains(s.err.Error(), "certificate") {
					t.Fatalf("got error %v, want one about the certificate mentioning %q", s.err, tt.wantErr)
				}
				return
			}
			if s.err != nil || s.out != "echo:secure\n" {
				t.Fatalf("got %q, %v; want the echo", s.out, s.err)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := run(t, "ws://"+addr+"/", wsclient.Options{}, strings.NewReader("x\n"))
	if s.err == nil || !strings.Contains(s.err.Error(), "connection refused") || !strings.Contains(s.err.Error(), addr) {
		t.Fatalf("refused: got %v, want an error naming %s and saying connection refused", s.err, addr)
	}
	if wsclient.ExitCode(s.res, s.err) != 1 {
		t.Fatal("refused: exit code not 1")
	}

	srv := newEchoServer(t, nil)
	notWS := strings.Replace(srv.URL("/"), "ws://", "http://", 1)
	plain := newPlainServer(t)
	s = run(t, plain, wsclient.Options{}, strings.NewReader(""))
	if s.err == nil || !strings.Contains(s.err.Error(), `"404 Not Found"`) {
		t.Fatalf("plain HTTP server: got %v, want it to say the server answered 404", s.err)
	}
	s = run(t, notWS, wsclient.Options{Wait: -1}, strings.NewReader("x\n"))
	if s.err != nil {
		t.Fatalf("http:// URL: %v", s.err)
	}
}

func TestMaxMessage(t *testing.T) {
	srv := newEchoServer(t, nil)
	before := len(srv.closeCodes())
	s := run(t, srv.URL("/big"), wsclient.Options{MaxMessage: 1000}, strings.NewReader("big 1000\nbig 1001\n"))
	if s.err == nil || wsclient.ExitCode(s.res, s.err) != 1 {
		t.Fatalf("got %+v, %v; want an error", s.res, s.err)
	}
	if got := lines(s.out); len(got) != 1 || len(got[0]) != 1000 {
		t.Errorf("want exactly the 1000-byte message printed, got %d lines", len(got))
	}
	waitFor(t, func() bool { return len(srv.closeCodes()) > before })
	if got := srv.closeCodes()[before]; got != websocket.StatusMessageTooBig {
		t.Errorf("server received close %d, want 1009", got)
	}
}

func TestKeepaliveGivesUp(t *testing.T) {
	srv := newEchoServer(t, nil)
	s := run(t, srv.URL("/mute"), wsclient.Options{Ping: 100 * time.Millisecond, Wait: 20 * time.Second}, strings.NewReader("mute\n"))
	if s.err == nil || !strings.Contains(s.err.Error(), "no pong within 100ms") {
		t.Fatalf("got %v, want a keepalive error", s.err)
	}
}

func TestCancelClosesWith1000(t *testing.T) {
	srv := newEchoServer(t, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	var res wsclient.Result
	go func() {
		var err error
		res, err = wsclient.Run(ctx, srv.URL("/c"), wsclient.Options{Wait: time.Minute}, pr, &out, io.Discard)
		done <- err
	}()
	io.WriteString(pw, "one\n")
	waitFor(t, func() bool { return strings.Contains(out.String(), "echo:one") })
	before := len(srv.closeCodes())
	cancel()
	select {
	case err := <-done:
		if err != nil || res.Code != 1000 || res.ByServer {
			t.Fatalf("got %+v, %v; want closed with 1000 by the client", res, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitFor(t, func() bool { return len(srv.closeCodes()) > before })
	if got := srv.closeCodes()[before]; got != 1000 {
		t.Errorf("server received close %d, want 1000", got)
	}
}
