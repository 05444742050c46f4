package web_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/web"
	"tether/internal/wire"
)

// A page on the internet can point its own name at the device's LAN
// address (DNS rebinding): the browser then sends Host and Origin both
// naming the attacker's site, so "same host" alone would let it drive the
// command API. Same-host pages are allowed only under an address or a
// local name, or a name listed in Options.Origins.
func TestWebSocketDNSRebinding(t *testing.T) {
	api := cmdapi.New(cmdapi.Options{State: func() wire.Message { return wire.Message{"iam": "Device_1"} }})
	t.Cleanup(api.Close)
	addr := serve(t, web.Options{API: api, Origins: []string{"dash.example.com"}})
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		host, origin string
		want         int
	}{
		{"evil.example:" + port, "http://evil.example:" + port, http.StatusForbidden},
		{"evil.example:" + port, "http://evil.example", http.StatusForbidden},
		{"device.evil.example.:" + port, "http://device.evil.example.", http.StatusForbidden},
		{"127.0.0.1:" + port, "http://127.0.0.1:8080", http.StatusSwitchingProtocols},
		{"[::1]:" + port, "http://[::1]:8080", http.StatusSwitchingProtocols},
		{"localhost:" + port, "http://localhost:8080", http.StatusSwitchingProtocols},
		{"raspberrypi:" + port, "http://raspberrypi", http.StatusSwitchingProtocols},
		{"tether-1.local:" + port, "http://tether-1.local", http.StatusSwitchingProtocols},
		{"pi.home.arpa:" + port, "http://pi.home.arpa", http.StatusSwitchingProtocols},
		{"dash.example.com:" + port, "https://dash.example.com", http.StatusSwitchingProtocols},
		{"dash.example.com:" + port, "http://dash.example.com", http.StatusSwitchingProtocols}, // in Origins
		{"other.example.com:" + port, "http://other.example.com", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.origin, func(t *testing.T) {
			if got := handshake(t, addr, tt.host, tt.origin); got != tt.want {
				t.Fatalf("Host %s, Origin %s: %d, want %d", tt.host, tt.origin, got, tt.want)
			}
		})
	}
}

// handshake sends a WebSocket upgrade to addr with the given Host and
// Origin and returns the status.
func handshake(t *testing.T, addr, host, origin string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// An https page can open only wss:// (browsers block ws:// from it as
// mixed content), where a rebound name fails the device's certificate; so
// an https page of the same host is allowed under any name: a device with
// a certificate for device.example.com is reached by that name.
func TestWebSocketSameHostOverTLS(t *testing.T) {
	api := cmdapi.New(cmdapi.Options{State: func() wire.Message { return wire.Message{"iam": "Device_1"} }})
	t.Cleanup(api.Close)
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cfg := ts.TLS.Clone()
	ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- web.New(web.Options{API: api}).Serve(ctx, tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: device.example.com:8443\r\nOrigin: https://device.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1000))
	res.Body.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("same host over TLS: %d %q, want 101", res.StatusCode, body)
	}
}
