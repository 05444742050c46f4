// Package sdnotify tells systemd about the service's state through the
// socket in $NOTIFY_SOCKET (sd_notify(3)): READY=1 once serving, STOPPING=1
// on shutdown, WATCHDOG=1 as a heartbeat. Without $NOTIFY_SOCKET (not run by
// systemd, or Type= is not notify) every call is a no-op.
package sdnotify

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"

	"tether/internal/ticks"
)

// States understood by systemd.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// Notify sends state to systemd. It reports whether a notification was
// sent; false with a nil error means systemd is not listening.
func Notify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}

// WatchdogInterval returns how often to send Watchdog: half the interval
// systemd set in $WATCHDOG_USEC, or 0 when no watchdog is set for this
// process.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// Heartbeat sends Watchdog every WatchdogInterval while healthy returns
// true, until ctx ends. Without a watchdog it returns at once.
func Heartbeat(ctx context.Context, healthy func() bool) {
	iv := WatchdogInterval()
	if iv == 0 {
		return
	}
	for range ticks.Every(ctx, iv) {
		if healthy == nil || healthy() {
			Notify(Watchdog)
		}
	}
}
