package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRelayTCP(t *testing.T) {
	url := startTCPServer(t, ServeTCPRelay)
	tests := []struct {
		name           string
		devices, pages int
		rate           float64
		window, size   int
	}{
		{"closed loop 1x1", 1, 1, 0, 0, 0},
		{"closed loop 2x3", 2, 3, 0, 0, 0},
		{"rate 2x2", 2, 2, 500, 0, 0},
		{"closed loop, window 16, 1x5", 1, 5, 0, 16, 0},
		// messages bigger than the relay's and the client's read buffers
		{"100 KiB messages, window 4, 1x2", 1, 2, 0, 4, 100 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Relay(context.Background(), RelayOptions{Broker: "tcp", URL: url, IDPrefix: strings.ReplaceAll(tt.name, " ", "_") + "-",
				Devices: tt.devices, Pages: tt.pages, Rate: tt.rate, Window: tt.window, Size: tt.size,
				Duration: 300 * time.Millisecond, Drain: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Other != 0 || res.Broker != "tcp" {
				t.Fatalf("got broker %q, %d errors (first %q), %d other messages; want tcp, none, none", res.Broker, res.Errors, res.FirstError, res.Other)
			}
			checkDirection(t, "device→page", res.Down, uint64(tt.pages), false)
			checkDirection(t, "page→device", res.Up, 1, false)
		})
	}
}

func TestTCPRelayRefuses(t *testing.T) {
	addr := strings.TrimPrefix(startTCPServer(t, ServeTCPRelay), "tcp://")
	dial := func(hello string) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, hello)
		return c, bufio.NewReader(c)
	}
	_, br := dial("hello\n")
	if line, _ := br.ReadString('\n'); !strings.Contains(line, `want "device ID" or "page ID", got "hello\n"`) {
		t.Errorf("bad first line: got %q, want the expected form", line)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after a bad first line: got %v, want the connection closed", err)
	}
	c, br := dial("device big\n")
	if line, _ := br.ReadString('\n'); line != "ok\n" {
		t.Fatalf("got %q, want ok", line)
	}
	c.Write(binary.BigEndian.AppendUint32(nil, tcpRelayMax+1))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after a message over the limit: got %v, want the connection closed", err)
	}
}

func TestRelayTCPErrors(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"ws://127.0.0.1:1", `raw tcp relay: got url "ws://127.0.0.1:1", want tcp://HOST:PORT`},
		{"tcp://127.0.0.1:1", "connect devices: raw tcp relay: dial tcp 127.0.0.1:1"},
	} {
		_, err := Relay(context.Background(), RelayOptions{Broker: "tcp", URL: tt.url, Duration: 100 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.url, err, tt.want)
		}
	}
}
