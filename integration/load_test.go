package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// plainBinary builds tether without the race detector, for the load tests:
// the race detector allows at most 8128 live goroutines per process, and a
// hub holding 10,000 connections has a reader for each.
func plainBinary(t testing.TB) string { return plain.build(t) }

var plain builtBinary

// builtBinary is ./cmd/tether built once per test process, with go
// build's flags args.
type builtBinary struct {
	args []string
	once sync.Once
	path string
	err  error
}

func (b *builtBinary) build(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "tether-built-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "tether")
		cmd := exec.Command("go", append(append([]string{"build", "-o", b.path}, b.args...), "./cmd/tether")...)
		cmd.Dir = tethertest.ProjectRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/tether: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// idleResult is what tether bench idle --json reports.
type idleResult struct {
	Connected     int     `json:"connected"`
	Failures      int     `json:"connect_failures"`
	Dropped       int     `json:"dropped_while_held"`
	RSSBefore     int64   `json:"rss_before_bytes"`
	RSSAfter      int64   `json:"rss_after_bytes"`
	RSSPerConn    float64 `json:"rss_per_connection_bytes"`
	RampNanos     int64   `json:"ramp_ns"`
	NoFileLimit   int     `json:"nofile_limit"`
	DevicesWanted int     `json:"devices"`
}

// relayResult is the part of tether bench relay --json the test checks.
type relayResult struct {
	DeviceToPage relayDir `json:"device_to_page"`
	PageToDevice relayDir `json:"page_to_device"`
	Errors       int      `json:"errors"`
}

type relayDir struct {
	Sent       int `json:"sent"`
	Received   int `json:"received"`
	Lost       int `json:"lost"`
	OutOfOrder int `json:"out_of_order"`
}

// runJSON runs the plain binary with args and decodes its --json output into v.
func runJSON(ctx context.Context, bin string, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("tether %s: %v\n%s", strings.Join(args[:2], " "), err, errb.String())
	}
	return json.Unmarshal(out.Bytes(), v)
}

// TestHubTenThousandIdleDevices holds 10,000 idle device connections
// (1,000 with -short) on a real hub with tether bench idle while tether
// bench relay runs a steady load of 10 devices and pages at 50 messages
// a second each way; no connection fails or is dropped, no message is
// lost, and the hub's memory per idle connection is measured.
func TestHubTenThousandIdleDevices(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < uint64(n)+1000 {
		t.Skipf("open-file hard limit %d is below the %d this test needs (ulimit -Hn)", lim.Max, n+1000)
	}
	bin := plainBinary(t)
	dev, page := addr(tethertest.FreePort(t)), addr(tethertest.FreePort(t))
	h := tethertest.StartCmd(t, exec.Command(bin, "hub", "--device-addr", dev, "--page-addr", page, "--log-level", "warn",
		"--device-conns-per-addr", "0")) // every device comes from 127.0.0.1
	tethertest.WaitPort(t, dev, 30*time.Second)
	tethertest.WaitPort(t, page, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var relay relayResult
	relayErr := make(chan error, 1)
	go func() {
		relayErr <- runJSON(ctx, bin, &relay, "bench", "relay", "--device-url", "ws://"+dev, "--page-url", "ws://"+page,
			"--devices", "10", "--rate", "50", "--duration", "12s", "--json")
	}()
	var idle idleResult
	err := runJSON(ctx, bin, &idle, "bench", "idle", "--devices", fmt.Sprint(n), "--url", "ws://"+dev,
		"--pid", fmt.Sprint(h.Cmd.Process.Pid), "--ramp", "5000/s", "--hold", "15s", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-relayErr; err != nil {
		t.Fatal(err)
	}
	if idle.Connected != n || idle.Failures != 0 || idle.Dropped != 0 {
		t.Errorf("idle: %d of %d connected, %d failures, %d dropped while held", idle.Connected, n, idle.Failures, idle.Dropped)
	}
	for name, d := range map[string]relayDir{"device→page": relay.DeviceToPage, "page→device": relay.PageToDevice} {
		if d.Sent == 0 || d.Lost != 0 || d.OutOfOrder != 0 {
			t.Errorf("relay %s beside %d idle devices: sent %d, received %d, lost %d, out of order %d", name, n, d.Sent, d.Received, d.Lost, d.OutOfOrder)
		}
	}
	if relay.Errors != 0 {
		t.Errorf("relay: %d errors", relay.Errors)
	}
	if h.Exited() {
		t.Fatalf("hub exited:\n%s", h.Output())
	}
	t.Logf("%d idle devices held in %v of ramp; hub VmRSS %d MiB → %d MiB, %.1f KB per connection; relay beside them: %d+%d messages, none lost",
		n, time.Duration(idle.RampNanos).Round(time.Millisecond), idle.RSSBefore>>20, idle.RSSAfter>>20, idle.RSSPerConn/1000,
		relay.DeviceToPage.Received, relay.PageToDevice.Received)
}

// TestDeviceHundredPages connects 100 page clients to a device's command
// API; a command from one reaches all 100 as the state broadcast.
func TestDeviceHundredPages(t *testing.T) {
	d := startDevice(t, 0)
	const n = 100
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = dialRaw(t, d.ws, "/", deviceAuth)
		conns[i].waitText(`"iam"`, 10*time.Second)
	}
	for round, cmd := range []string{"start_interface", "stop_interface"} {
		want := fmt.Sprintf(`"fake_interface/running":%v`, round == 0)
		conns[round].sendText(`["CMD", "` + cmd + `", []]`)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var missed []int
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				end := time.Now().Add(20 * time.Second)
				for time.Now().Before(end) {
					op, b, err := c.readFrame(time.Until(end))
					if err != nil {
						break
					}
					if op == opText && strings.Contains(strings.ReplaceAll(string(b), " ", ""), want) {
						return
					}
				}
				mu.Lock()
				missed = append(missed, i)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(missed) > 0 {
			t.Fatalf("%s: %d of %d clients never got %s (clients %v)", cmd, len(missed), n, want, missed)
		}
	}
	d.alive(t)
}
