package devtls_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tether/internal/certs"
	"tether/internal/devtls"
)

// serve runs an HTTP server answering "hello over TLS" on a devtls
// Listener until the test ends, and returns its address.
func serve(t *testing.T, root string) string {
	t.Helper()
	tetherCerts(t, root, certs.ServerOptions{})
	s, err := devtls.Setup(devtls.Options{Root: root})
	if err != nil || !s.On() {
		t.Fatalf("Setup: %+v, %v", s, err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := devtls.NewListener(inner, s.Config, devtls.ListenOptions{SniffTimeout: 2 * time.Second})
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				http.Error(w, "not TLS", 500)
				return
			}
			io.WriteString(w, "hello over TLS")
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
		ln.Close() // again: idempotent
	})
	return ln.Addr().String()
}

func TestListenerTLS(t *testing.T) {
	root := t.TempDir()
	addr := serve(t, root)
	// A silent client must not hold up the others.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientFor(t, root)}, Timeout: 10 * time.Second}
	for range 3 {
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "hello over TLS" {
			t.Fatalf("GET https://: %d %q", resp.StatusCode, b)
		}
	}
}

// Plain HTTP on the TLS port gets a clear answer in plain text, never a hang.
func TestListenerPlainHTTP(t *testing.T) {
	addr := serve(t, t.TempDir())
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name     string
		send     string
		wantCode int
		wantHdr  string // Location
		wantBody string
	}{
		{"page", "GET /index.html?x=1 HTTP/1.1\r\nHost: device.local:" + port + "\r\n\r\n", 307, "https://device.local:" + port + "/index.html?x=1", "This port serves HTTPS: go to https://device.local:" + port + "/index.html?x=1"},
		{"ws:// upgrade", "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400, "", "use https://127.0.0.1:" + port + "/ for the page and wss://127.0.0.1:" + port + "/ for the WebSocket API"},
		{"POST", "POST /api/restart HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Length: 0\r\n\r\n", 400, "", "This port serves TLS only"},
		{"bad host header", "GET / HTTP/1.1\r\nHost: evil.example/<script>\r\n\r\n", 307, "https://" + addr + "/", "go to https://" + addr + "/"},
		{"not HTTP", "hello\r\n\r\n", 400, "", "This port serves TLS only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tt.send)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("read answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || resp.Header.Get("Location") != tt.wantHdr || !strings.Contains(string(b), tt.wantBody) {
				t.Fatalf("got %d Location %q %q; want %d %q containing %q", resp.StatusCode, resp.Header.Get("Location"), b, tt.wantCode, tt.wantHdr, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
		})
	}
	t.Run("net/http client", func(t *testing.T) {
		client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 307 || resp.Header.Get("Location") != "https://"+addr+"/" {
			t.Fatalf("GET http://: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// Close ends connections still being sniffed and returns.
func TestListenerClose(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := devtls.NewListener(inner, &tls.Config{}, devtls.ListenOptions{})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let it be accepted (either way Close must return)
	ln.Close()
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Accept after Close: want an error")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read after Close: %v, want EOF", err)
	}
}
