//go:build !tether_device

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tether/internal/bench"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

func newBenchCmd(stdio Stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a hub, a device or a broker: echo round trips, relayed messages, idle connections",
		Long: `tether bench is a load generator, in the manner of nats bench, to size a hub
or a device on your own machines:

  echo             closed-loop round trips against a WebSocket or raw TCP echo
  relay            devices and pages through a hub (or an MQTT broker), every
                   message numbered, timed, and checked for loss and order
  idle             many idle device connections, and the memory they cost
  tcp-echo-server  the raw TCP echo the WebSocket figures are compared with
  tcp-relay-server the raw TCP relay the hub's figures are compared with

While it runs it shows progress on standard error (a live line on a
terminal, a line every few seconds otherwise); at the end it prints a table,
or JSON with --json. Ctrl-C ends a run early and still prints what it has.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBenchEchoCmd(stdio), newBenchRelayCmd(stdio), newBenchIdleCmd(stdio), newBenchTCPEchoCmd(stdio), newBenchTCPRelayCmd(stdio))
	return cmd
}

// benchCommon are the flags every bench command shares.
type benchCommon struct {
	json    bool
	headers []string
}

func (c *benchCommon) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.json, "json", false, "print the result as JSON instead of a table")
	cmd.Flags().StringArrayVar(&c.headers, "header", nil, `header "K: V" sent with every WebSocket handshake, e.g. "Authorization: Bearer TOKEN" (repeatable)`)
}

func (c *benchCommon) header(cmd *cobra.Command) (http.Header, error) {
	h := http.Header{}
	for _, kv := range c.headers {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &UsageError{Err: fmt.Errorf("parse --header: got %q, want \"K: V\"", kv), Hint: cmd.CommandPath() + " --help"}
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, nil
}

// benchContext ends on Ctrl-C or SIGTERM.
func benchContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

// progressLine shows progress on w: rewritten in place on a terminal, a
// plain line every 5 s otherwise. done clears the live line.
type progressLine struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	shown    bool
	interval time.Duration
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w, interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.interval = true, 500*time.Millisecond
	}
	return p
}

func (p *progressLine) show(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// runBench is what every bench command does once its options are set: run
// until done or Ctrl-C, showing progress on standard error (run sets its
// options' Progress and Interval from p), then print the result as a table
// or, with asJSON, as JSON.
func runBench[R any](cmd *cobra.Command, stdio Stdio, asJSON bool, run func(ctx context.Context, p *progressLine) (R, error), table func(*tabwriter.Writer, R)) (R, error) {
	ctx, stop := benchContext(cmd)
	defer stop()
	p := newProgressLine(stdio.Err)
	res, err := run(ctx, p)
	p.done()
	if err != nil {
		return res, err
	}
	return res, printResult(stdio.Out, asJSON, res, func(w *tabwriter.Writer) { table(w, res) })
}

// printResult writes res as indented JSON, or with table.
func printResult(w io.Writer, asJSON bool, res any, table func(*tabwriter.Writer)) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// fmtDur rounds a latency for a table: µs below 10 ms, 0.1 ms above.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

// cpuLine says how many cores the benchmark and its target used.
func cpuLine(w io.Writer, c bench.CPU) {
	fmt.Fprintf(w, "cpu: bench %.2f cores (%.0f %% system)", c.Bench, 100*c.BenchSystem)
	if c.PID > 0 {
		fmt.Fprintf(w, ", target (pid %d) %.2f cores (%.0f %% system): %.2f cpu seconds in %.2f s", c.PID, c.Target, 100*c.TargetSystem, c.TargetSeconds, c.Seconds)
	}
	switch {
	case c.PerMessage > 0:
		fmt.Fprintf(w, ", %.2f µs per delivered message", c.PerMessage*1e6)
	case c.PID > 0 && c.TargetSeconds == 0:
		// /proc counts in clock ticks (10 ms): a light run may use none
		fmt.Fprint(w, " (under one clock tick: no µs per delivered message; run longer)")
	}
	fmt.Fprintln(w)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 10<<20 || n <= -10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10 || n <= -10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newBenchTCPEchoCmd(stdio Stdio) *cobra.Command {
	return newBenchTCPServerCmd(stdio, tcpServerCmd{
		use:   "tcp-echo-server",
		short: "Run a raw TCP echo server, the ceiling WebSocket echo is measured against",
		long: `tether bench tcp-echo-server writes back every byte it reads, on every
connection, until Ctrl-C or SIGTERM. Measure it with
tether bench echo tcp://ADDR to see what the machine's loopback and
kernel allow before any WebSocket framing.`,
		example: `  tether bench tcp-echo-server --addr 127.0.0.1:7000 &
  tether bench echo tcp://127.0.0.1:7000 --clients 50 --size 64 --duration 10s`,
		what:  "tcp echo",
		serve: bench.ServeTCPEcho,
	})
}

func newBenchTCPRelayCmd(stdio Stdio) *cobra.Command {
	return newBenchTCPServerCmd(stdio, tcpServerCmd{
		use:   "tcp-relay-server",
		short: "Run a raw TCP relay, the ceiling the hub's relay is measured against",
		long: `tether bench tcp-relay-server relays the messages of tether bench relay
--broker tcp between devices and pages, until Ctrl-C or SIGTERM: what a
device sends goes to every page of its id, what a page sends to its
device, as bytes between sockets (a goroutine per connection, no WebSocket
framing, no routing state, no checks). Measure it beside a hub to see what
the machine's loopback and kernel allow a relay.

Its protocol: a client's first line is "device ID" or "page ID", answered
"ok" once registered; then every message, both ways, is a 4-byte
big-endian length and that many bytes.`,
		example: `  tether bench tcp-relay-server --addr 127.0.0.1:7000 &
  tether bench relay --broker tcp --url tcp://127.0.0.1:7000 --devices 10 --pages 2 --closed-loop`,
		what:  "tcp relay",
		serve: bench.ServeTCPRelay,
	})
}

// tcpServerCmd describes one of the raw TCP servers of tether bench.
type tcpServerCmd struct {
	use, short, long, example, what string
	serve                           func(context.Context, net.Listener) error
}

func newBenchTCPServerCmd(stdio Stdio, d tcpServerCmd) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:     d.use,
		Short:   d.short,
		Long:    d.long,
		Example: d.example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := benchContext(cmd)
			defer stop()
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on --addr: %w", err)
			}
			fmt.Fprintf(stdio.Err, "%s listening on tcp://%s\n", d.what, ln.Addr())
			return d.serve(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:7000", "address to listen on")
	return cmd
}
