package localpeer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// owners serves HTTP on network's loopback address with ConnContext and
// answers every request with "uid ok" of Owner.
func owners(t *testing.T, network, addr string) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	hs := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			uid, ok := Owner(r)
			fmt.Fprintf(w, "%d %v", uid, ok)
		}),
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestOwnerSameUser: a client of this process's own user over IPv4 and
// IPv6 loopback is found as this process's uid, on every request of a
// kept-alive connection.
func TestOwnerSameUser(t *testing.T) {
	want := fmt.Sprintf("%d true", os.Geteuid())
	for _, tt := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tt.network, func(t *testing.T) {
			url := "http://" + owners(t, tt.network, tt.addr) + "/"
			for range 3 {
				if got := get(t, url); got != want {
					t.Errorf("Owner = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestOwnerOtherUser: a client run as another user (nobody, 65534) is
// found as that user. It needs root to start one.
func TestOwnerOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("starting a process as another user needs root")
	}
	const python = "/usr/bin/python3" // tethertest.Python, which imports this package's users
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: needs %s", python)
		}
		t.Skipf("needs %s", python)
	}
	addr := owners(t, "tcp4", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print(s.makefile("rb").read().decode())`
	cmd := exec.CommandContext(ctx, python, "-c", script, addr[strings.LastIndexByte(addr, ':')+1:])
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python as nobody: %v\n%s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "65534 true") {
		t.Errorf("Owner of a client run as nobody: %q, want 65534 true", out)
	}
}

// TestOwnerNotLoopback: a request whose remote address is not loopback
// is no one's, without a look at the tables; nor is one with no address.
func TestOwnerNotLoopback(t *testing.T) {
	for _, remote := range []string{"192.0.2.1:1234", "[2001:db8::1]:1234", "", "pipe"} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if uid, ok := Owner(r); ok {
			t.Errorf("Owner from %q = %d, want none", remote, uid)
		}
	}
}

// BenchmarkOwner: a new connection's first request that asks, on this
// host's tables as they are (the connection's own sockets in them).
func BenchmarkOwner(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		r, _ := http.NewRequest("GET", "/", nil)
		r = r.WithContext(ConnContext(r.Context(), s))
		if uid, ok := Owner(r); !ok || uid != os.Geteuid() {
			b.Fatal(uid, ok)
		}
	}
}
