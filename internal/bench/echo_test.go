package bench

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// startTCPEcho runs ServeTCPEcho on 127.0.0.1:0 until the test ends.
func startTCPEcho(t *testing.T) string { return startTCPServer(t, ServeTCPEcho) }

// startTCPServer runs serve (ServeTCPEcho, ServeTCPRelay) on 127.0.0.1:0
// until the test ends and returns its tcp:// URL.
func startTCPServer(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving on %s: %v", ln.Addr(), err)
		}
	})
	return "tcp://" + ln.Addr().String()
}

func checkLatency(t *testing.T, what string, l Latency) {
	t.Helper()
	if l.Samples == 0 || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || l.Mean <= 0 || l.Mean > l.Max {
		t.Errorf("%s latency: got %+v, want samples > 0 and 0 < p50 ≤ p90 ≤ p99 ≤ max, 0 < mean ≤ max", what, l)
	}
}

func TestEcho(t *testing.T) {
	ws, tcp := wsEchoServer(t), startTCPEcho(t)
	tests := []struct {
		name      string
		url       string
		transport string
		clients   int
		size      int
	}{
		{"websocket 1 client 64 B", ws, "websocket", 1, 64},
		{"websocket 4 clients 16 KiB", ws, "websocket", 4, 16 << 10},
		{"tcp 1 client 64 B", tcp, "tcp", 1, 64},
		{"tcp 4 clients 16 KiB", tcp, "tcp", 4, 16 << 10},
		{"tiny size is raised to 8", ws, "websocket", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			res, err := Echo(context.Background(), EchoOptions{URL: tt.url, Clients: tt.clients, Size: tt.size, PID: os.Getpid(),
				Duration: 300 * time.Millisecond, Interval: 100 * time.Millisecond,
				Progress: func(l string) { lines = append(lines, l) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.RoundTrips == 0 || res.Rate <= 0 || res.Transport != tt.transport || res.Clients != tt.clients {
				t.Errorf("got %+v, want round trips by %d %s clients and no errors", res, tt.clients, tt.transport)
			}
			if res.Size != max(tt.size, 8) {
				t.Errorf("size: got %d, want %d", res.Size, max(tt.size, 8))
			}
			checkLatency(t, "round trip", res.Latency)
			if res.CPU.Bench <= 0 || res.CPU.PID != os.Getpid() || res.CPU.Target <= 0 {
				t.Errorf("cpu: got %+v, want the bench's and the target's (this process) use", res.CPU)
			}
			if len(lines) == 0 || !strings.HasPrefix(lines[0], "echo ") {
				t.Errorf("progress: got %q, want lines starting with \"echo \"", lines)
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var back EchoResult
			if err := json.Unmarshal(b, &back); err != nil || back.RoundTrips != res.RoundTrips {
				t.Errorf("JSON round trip: got %+v, %v; want round_trips %d", back, err, res.RoundTrips)
			}
		})
	}
}

func TestEchoErrors(t *testing.T) {
	// a server that echoes the wrong bytes: every reply is caught
	bad := startTCPBadEcho(t)
	tests := []struct {
		name, url, want string
	}{
		{"bad scheme", "http://127.0.0.1:1/", "want ws, wss or tcp"},
		{"nothing listening", "ws://127.0.0.1:1/", "dial ws://127.0.0.1:1/"},
		{"no such target", "ws://127.0.0.1:1/?pid", "read cpu time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := EchoOptions{URL: tt.url, Duration: 100 * time.Millisecond}
			switch {
			case strings.HasSuffix(tt.url, "?pid"):
				o.PID = 1 << 30
			}
			_, err := Echo(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("wrong echo", func(t *testing.T) {
		res, err := Echo(context.Background(), EchoOptions{URL: bad, Clients: 2, Duration: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors != 2 || !strings.Contains(res.FirstError, "echo: got") || res.RoundTrips != 0 {
			t.Errorf("got %+v, want 2 client errors naming the bad echo and no round trips", res)
		}
	})
}

// startTCPBadEcho echoes every byte plus one.
func startTCPBadEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					for i := range n {
						buf[i]++
					}
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "tcp://" + ln.Addr().String()
}
