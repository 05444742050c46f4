//go:build !tether_device

package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"tether/internal/bench"
)

func newBenchEchoCmd(stdio Stdio) *cobra.Command {
	var (
		c benchCommon
		o bench.EchoOptions
	)
	cmd := &cobra.Command{
		Use:   "echo URL",
		Short: "Closed-loop round trips against a WebSocket or raw TCP echo server",
		Long: `tether bench echo connects --clients clients to an echo server; each sends a
--size byte message, waits for it to come back, and sends the next, for
--duration. It reports round trips per second and their latency (p50, p90,
p99, max).

URL is ws:// or wss:// for a WebSocket echo (one binary message per round
trip; the echoserver device app is one), or tcp://HOST:PORT for a raw TCP
echo (such as tether bench tcp-echo-server), the ceiling to compare with.
The WebSocket client is tether's own minimal one (a read buffer and the
frame codec, no library), so the figures are the server's.`,
		Example: `  tether bench echo ws://127.0.0.1:7777/ --clients 50 --size 64 --duration 10s
  tether bench echo tcp://127.0.0.1:7000 --clients 50 --size 64 --duration 10s --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Size < 8 {
				return &UsageError{Err: fmt.Errorf("--size: got %d, want at least 8 (each message carries its 8-byte round-trip number)", o.Size), Hint: "tether bench echo --help"}
			}
			h, err := c.header(cmd)
			if err != nil {
				return err
			}
			o.URL, o.Header = args[0], h
			res, err := runBench(cmd, stdio, c.json, func(ctx context.Context, p *progressLine) (bench.EchoResult, error) {
				o.Progress, o.Interval = p.show, p.interval
				return bench.Echo(ctx, o)
			}, echoTable)
			if err != nil {
				return err
			}
			if res.Errors > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d clients failed, first: %s", res.Errors, res.Clients, res.FirstError)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Clients, "clients", 1, "clients, each running its own closed loop")
	fl.IntVar(&o.Size, "size", 64, "message size in bytes (at least 8)")
	fl.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to count round trips")
	fl.IntVar(&o.PID, "pid", 0, "the echo server's process id, to report its CPU use beside the benchmark's (0: none)")
	c.add(cmd)
	return cmd
}

func echoTable(w *tabwriter.Writer, r bench.EchoResult) {
	fmt.Fprintf(w, "echo %s (%s), %d clients, %d B, %.2fs\n", r.URL, r.Transport, r.Clients, r.Size, r.Duration.Seconds())
	fmt.Fprintln(w, "ROUND TRIPS\tPER SEC\tMEAN\tP50\tP90\tP99\tMAX\tERRORS")
	l := r.Latency
	fmt.Fprintf(w, "%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\n", r.RoundTrips, r.Rate,
		fmtDur(l.Mean), fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.Max), r.Errors)
	cpuLine(w, r.CPU)
}
