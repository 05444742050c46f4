package sdnotify_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"tether/internal/sdnotify"
)

// listen stands in for systemd: a unixgram socket in $NOTIFY_SOCKET.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	c := listen(t)
	sent, err := sdnotify.Notify(sdnotify.Ready)
	if !sent || err != nil {
		t.Fatalf("Notify = %v, %v", sent, err)
	}
	if got := read(t, c); got != "READY=1" {
		t.Fatalf("systemd got %q", got)
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := sdnotify.Notify(sdnotify.Ready); sent || err != nil {
		t.Fatalf("Notify without a socket = %v, %v", sent, err)
	}
}

func TestHeartbeat(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000") // 20 ms: beats every 10 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if iv := sdnotify.WatchdogInterval(); iv != 10*time.Millisecond {
		t.Fatalf("WatchdogInterval = %v", iv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sdnotify.Heartbeat(ctx, func() bool { return true }); close(done) }()
	for range 3 {
		if got := read(t, c); got != "WATCHDOG=1" {
			t.Fatalf("heartbeat sent %q", got)
		}
	}
	cancel()
	<-done
	t.Setenv("WATCHDOG_PID", "1")
	if iv := sdnotify.WatchdogInterval(); iv != 0 {
		t.Fatalf("watchdog meant for another pid gave %v", iv)
	}
}
