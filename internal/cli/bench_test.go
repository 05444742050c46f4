//go:build !tether_device

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/bench"
	"tether/internal/cli"
	"tether/internal/hub"
	"tether/internal/tethertest"
)

// startTCPEcho runs the raw TCP echo in-process until the test ends.
func startTCPEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bench.ServeTCPEcho(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "tcp://" + ln.Addr().String()
}

// startHub runs a real hub in-process until the test ends and returns its
// device and page URLs.
func startHub(t *testing.T) (devURL, pageURL string) {
	t.Helper()
	devLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Options{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, devLn, pageLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	return "ws://" + devLn.Addr().String(), "ws://" + pageLn.Addr().String()
}

func benchRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), append([]string{"bench"}, args...), cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), err
}

func checkRelayJSON(t *testing.T, out string, pages uint64) {
	t.Helper()
	var res bench.RelayResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("parse JSON: %v\n%s", err, out)
	}
	for _, d := range []bench.Direction{res.Down, res.Up} {
		l := d.Latency
		if d.Sent == 0 || d.Expected != d.Received || d.Lost != 0 || d.OutOfOrder != 0 ||
			l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
			t.Errorf("got %+v, want everything delivered in order with ordered latencies", d)
		}
	}
	if res.CPU.Bench <= 0 || (res.CPU.PID != 0 && (res.CPU.Target <= 0 || res.CPU.TargetSeconds <= 0 || res.CPU.PerMessage <= 0)) {
		t.Errorf("cpu: got %+v, want the bench's use, and the target's (cpu seconds, per message) when asked", res.CPU)
	}
	if res.CPU.BenchSystem <= 0 || res.CPU.BenchSystem > 1 || res.CPU.TargetSystem < 0 || res.CPU.TargetSystem > 1 {
		t.Errorf("cpu: got system shares %g (bench) and %g (target), want a share of 0 to 1 (above 0 for the bench, which makes system calls)", res.CPU.BenchSystem, res.CPU.TargetSystem)
	}
	if res.CPU.PID != 0 {
		delivered := float64(res.Down.Delivered + res.Up.Delivered)
		if got := res.CPU.PerMessage * delivered; got < res.CPU.TargetSeconds*0.999 || got > res.CPU.TargetSeconds*1.001 {
			t.Errorf("cpu per message %g × %g delivered = %g, want the target's %g cpu seconds", res.CPU.PerMessage, delivered, got, res.CPU.TargetSeconds)
		}
	}
	if res.Down.Expected != res.Down.Sent*pages || res.Errors != 0 {
		t.Errorf("got %+v, want device→page expected = sent × %d and no errors", res, pages)
	}
}

func TestBenchInProcess(t *testing.T) {
	tcp := startTCPEcho(t)
	devURL, pageURL := startHub(t)
	hubArgs := []string{"--device-url", devURL, "--page-url", pageURL}
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"echo tcp json", []string{"echo", tcp, "--clients", "3", "--size", "100", "--duration", "300ms", "--json"}, func(t *testing.T, out string) {
			var res bench.EchoResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("parse JSON: %v\n%s", err, out)
			}
			if res.RoundTrips == 0 || res.Clients != 3 || res.Size != 100 || res.Transport != "tcp" || res.Latency.P99 > res.Latency.Max {
				t.Errorf("got %+v", res)
			}
		}},
		{"echo table", []string{"echo", tcp, "--duration", "300ms"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "ROUND TRIPS  PER SEC") || !strings.Contains(out, "(tcp), 1 clients, 64 B") {
				t.Errorf("got %q, want the echo table", out)
			}
		}},
		{"relay hub json", append([]string{"relay", "--devices", "2", "--pages", "3", "--window", "8", "--duration", "300ms", "--json", "--pid", strconv.Itoa(os.Getpid())}, hubArgs...), func(t *testing.T, out string) {
			checkRelayJSON(t, out, 3)
		}},
		{"relay hub rate table", append([]string{"relay", "--rate", "200", "--duration", "300ms", "--header", "X-Bench: 1", "--pid", strconv.Itoa(os.Getpid())}, hubArgs...), func(t *testing.T, out string) {
			for _, want := range []string{"relay via hub: 1 devices × 1 pages, 64 B, rate 200/s per device", "device→page", "page→device", "LOST", "cpu: bench ",
				"% system), target (pid ", "cpu seconds in ", "µs per delivered message"} {
				if !strings.Contains(out, want) {
					t.Errorf("got %q, want it to contain %q", out, want)
				}
			}
		}},
		{"idle hub", []string{"idle", "--url", devURL, "--devices", "30", "--ramp", "300/s", "--hold", "200ms", "--pid", strconv.Itoa(os.Getpid()), "--json"}, func(t *testing.T, out string) {
			var res bench.IdleResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("parse JSON: %v\n%s", err, out)
			}
			if res.Connected != 30 || res.Failures != 0 || res.Dropped != 0 || res.RSSBefore <= 0 {
				t.Errorf("got %+v, want 30 connected and the RSS read", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := benchRun(t, tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			tt.check(t, out)
		})
	}
}

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"rate and closed loop", []string{"relay", "--rate", "10", "--closed-loop"}, true, "got --rate and --closed-loop"},
		{"window with rate", []string{"relay", "--rate", "10", "--window", "8"}, true, "got --window 8, want at least 1, and only without --rate"},
		{"bad header", []string{"echo", "ws://127.0.0.1:1/", "--header", "nocolon"}, true, `got "nocolon", want "K: V"`},
		{"bad ramp", []string{"idle", "--ramp", "fast"}, true, "want a positive number of connections a second"},
		{"echo without url", []string{"echo"}, false, "accepts 1 arg(s)"},
		{"echo size too small", []string{"echo", "ws://127.0.0.1:1/", "--size", "4"}, true, "--size: got 4, want at least 8"},
		{"bad broker", []string{"relay", "--broker", "amqp"}, false, `got "amqp", want hub, mqtt or tcp`},
		{"echo refused", []string{"echo", "ws://127.0.0.1:1/", "--duration", "100ms"}, false, "dial ws://127.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := benchRun(t, tt.args...)
			var ue *cli.UsageError
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &ue) != tt.usage {
				t.Errorf("got %v (usage error %v), want %q (usage error %v)", err, errors.As(err, &ue), tt.want, tt.usage)
			}
		})
	}
}

// TestBenchBinary runs the real binary against the real binary: tether
// hub and tether bench tcp-echo-server, measured by tether bench.
func TestBenchBinary(t *testing.T) {
	hubProc := tethertest.Start(t, "hub", "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0")
	echo := tethertest.Start(t, "bench", "tcp-echo-server", "--addr", "127.0.0.1:0")
	relay := tethertest.Start(t, "bench", "tcp-relay-server", "--addr", "127.0.0.1:0")
	dev, pg := hubProc.HubAddrs(20 * time.Second)
	echoAddr := echo.WaitMatch(`tcp echo listening on tcp://(127\.0\.0\.1:\d+)`, 20*time.Second)[1]
	relayAddr := relay.WaitMatch(`tcp relay listening on tcp://(127\.0\.0\.1:\d+)`, 20*time.Second)[1]
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, tethertest.Binary(t), append([]string{"bench"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("tether bench %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	out := run("relay", "--device-url", "ws://"+dev, "--page-url", "ws://"+pg,
		"--devices", "2", "--pages", "2", "--duration", "300ms", "--json")
	checkRelayJSON(t, out, 2)
	out = run("relay", "--broker", "tcp", "--url", "tcp://"+relayAddr, "--devices", "2", "--pages", "2", "--duration", "300ms")
	if !strings.Contains(out, "relay via tcp: 2 devices × 2 pages") || !strings.Contains(out, "other messages skipped: 0; connection errors: 0") {
		t.Errorf("relay --broker tcp: got %q, want the table, nothing skipped, no errors", out)
	}
	out = run("echo", "tcp://"+echoAddr, "--clients", "2", "--duration", "300ms")
	if !strings.Contains(out, "ROUND TRIPS") {
		t.Errorf("echo: got %q, want the table", out)
	}
	out = run("idle", "--url", "ws://"+dev, "--devices", "50", "--hold", "200ms",
		"--pid", strconv.Itoa(hubProc.Cmd.Process.Pid))
	if !strings.Contains(out, "CONNECTED  FAILED  DROPPED") || !strings.Contains(out, "\n50         0       0 ") {
		t.Errorf("idle: got %q, want 50 connected, none failed or dropped", out)
	}
	for name, p := range map[string]*tethertest.Proc{"tcp-echo-server": echo, "tcp-relay-server": relay} {
		p.Signal(os.Interrupt.(syscall.Signal))
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("%s after SIGINT: exit %d, want 0\n%s", name, code, p.Output())
		}
	}
}

// --help shows the defaults a run really uses.
func TestBenchIdleHelpDefaults(t *testing.T) {
	out, _, err := benchRun(t, "idle", "--help")
	if err != nil || !strings.Contains(out, "(default 1000/s)") {
		t.Errorf("bench idle --help: %v, want --ramp's default 1000/s:\n%s", err, out)
	}
}
