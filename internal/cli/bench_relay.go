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

func newBenchRelayCmd(stdio Stdio) *cobra.Command {
	var (
		c          benchCommon
		o          bench.RelayOptions
		closedLoop bool
	)
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Devices and pages through a hub or an MQTT broker: messages/s, latency, losses",
		Long: `tether bench relay connects --devices devices (ids bench-0, bench-1, …) and
--pages pages per device, then for --duration devices send numbered,
timestamped messages to their pages and pages to their device. It waits up
to --drain for messages still in flight and reports, each way, messages
delivered per second, latency (p50, p90, p99, max) and every message lost
or out of order.

Pacing: --rate R has every device send R messages a second (and every page
--page-rate, default R); --closed-loop (the default without --rate) has
each sender wait until every receiver has its message before the next, or
with --window N keep up to N messages in flight. One at a time measures
latency; a window (e.g. 64) measures capacity without outrunning the
relay's queues.

--broker hub (default) uses tether hub's endpoints --device-url and
--page-url, and waits for each page to hear its device is connected.
--broker mqtt does the same job over an MQTT 3.1.1 broker over WebSocket at
--url (e.g. Mosquitto): devices publish to dev/<id>/up and subscribe to
dev/<id>/down, pages the reverse, at QoS 0. --broker tcp does it through
tether bench tcp-relay-server at --url tcp://HOST:PORT: the same messages
as bytes between sockets, the ceiling for any relay on the machine.

CPU per message: with --pid, the target's processor time (user plus
system, from /proc/PID/stat) while messages are sent is printed in cpu
seconds, and divided by the messages delivered in that time. At a fixed
--rate the offered load is the same for every target, so this is the
figure to compare servers by: what each spends to relay one message.

Exit status is 1 when a connection failed during the run.`,
		Example: `  tether bench relay --devices 1 --pages 1 --closed-loop --duration 10s
  tether bench relay --devices 1 --pages 1000 --direction down --closed-loop --duration 10s
  tether bench relay --devices 100 --pages 1 --rate 100 --device-url ws://hub:7770 --page-url ws://hub:7771
  tether bench relay --broker mqtt --url ws://127.0.0.1:8080 --devices 10 --pages 10 --closed-loop
  tether bench relay --broker tcp --url tcp://127.0.0.1:7000 --devices 10 --pages 10 --closed-loop
  # CPU per relayed message at 20,000 deliveries/s each way, hub then Mosquitto:
  tether bench relay --devices 10 --pages 2 --rate 1000 --duration 8s --pid $(pidof tether)
  tether bench relay --broker mqtt --url ws://127.0.0.1:8080 --devices 10 --pages 2 --rate 1000 --duration 8s --pid $(pidof mosquitto)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if closedLoop && o.Rate > 0 {
				return &UsageError{Err: fmt.Errorf("got --rate and --closed-loop, want one of them"), Hint: cmd.CommandPath() + " --help"}
			}
			if o.Window < 1 || (o.Window > 1 && o.Rate > 0) {
				return &UsageError{Err: fmt.Errorf("got --window %d, want at least 1, and only without --rate", o.Window), Hint: cmd.CommandPath() + " --help"}
			}
			h, err := c.header(cmd)
			if err != nil {
				return err
			}
			o.Header = h
			if o.Broker == "tcp" && !cmd.Flags().Changed("url") {
				o.URL = "" // the raw relay's default, not the broker's
			}
			res, err := runBench(cmd, stdio, c.json, func(ctx context.Context, p *progressLine) (bench.RelayResult, error) {
				o.Progress, o.Interval = p.show, p.interval
				return bench.Relay(ctx, o)
			}, relayTable)
			if err != nil {
				return err
			}
			if res.Errors > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d connections failed during the run, first: %s", res.Errors, res.FirstError)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Broker, "broker", "hub", "what relays: hub (tether hub), mqtt (an MQTT broker over WebSocket at --url) or tcp (tether bench tcp-relay-server at --url tcp://HOST:PORT)")
	fl.StringVar(&o.DeviceURL, "device-url", "ws://127.0.0.1:7770", "the hub's device endpoint, without the id")
	fl.StringVar(&o.PageURL, "page-url", "ws://127.0.0.1:7771", "the hub's page endpoint, without the id")
	fl.StringVar(&o.URL, "url", "ws://127.0.0.1:8080", "the MQTT broker's WebSocket URL (--broker mqtt), or the raw relay's tcp://HOST:PORT (--broker tcp; default tcp://127.0.0.1:7000)")
	fl.IntVar(&o.Devices, "devices", 1, "devices, ids bench-0 …")
	fl.IntVar(&o.Pages, "pages", 1, "pages per device")
	fl.IntVar(&o.PID, "pid", 0, "the hub's (or broker's) process id, to report its CPU use beside the benchmark's (0: none)")
	fl.StringVar(&o.IDPrefix, "id-prefix", "bench-", "start of every device id")
	fl.IntVar(&o.Size, "size", 64, "message size in bytes (at least 24)")
	fl.Float64Var(&o.Rate, "rate", 0, "messages per second each device sends (0: closed loop)")
	fl.Float64Var(&o.PageRate, "page-rate", 0, "messages per second each page sends (default --rate)")
	fl.BoolVar(&closedLoop, "closed-loop", false, "each sender waits for its messages to arrive before sending more (the default without --rate)")
	fl.IntVar(&o.Window, "window", 1, "closed loop: messages each sender may have in flight (1 measures latency, more measures capacity)")
	fl.StringVar(&o.Direction, "direction", "both", "both, down (device→page only) or up (page→device only)")
	fl.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	fl.DurationVar(&o.Drain, "drain", 2*time.Second, "how long to wait for messages in flight before counting them lost")
	c.add(cmd)
	return cmd
}

func relayTable(w *tabwriter.Writer, r bench.RelayResult) {
	mode := fmt.Sprintf("closed loop, window %d", r.Window)
	if r.Mode == "rate" {
		mode = fmt.Sprintf("rate %g/s per device, %g/s per page", r.Rate, r.PageRate)
	}
	fmt.Fprintf(w, "relay via %s: %d devices × %d pages, %d B, %s, %s, %.2fs\n",
		r.Broker, r.Devices, r.Pages, r.Size, mode, r.Direction, r.Duration.Seconds())
	fmt.Fprintln(w, "DIRECTION\tSENT\tEXPECTED\tRECEIVED\tLOST\tOUT OF ORDER\tPER SEC\tP50\tP90\tP99\tMAX")
	for _, d := range []struct {
		name string
		d    bench.Direction
	}{{"device→page", r.Down}, {"page→device", r.Up}} {
		l := d.d.Latency
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\n", d.name, d.d.Sent, d.d.Expected, d.d.Received,
			d.d.Lost, d.d.OutOfOrder, d.d.Rate, fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.Max))
	}
	fmt.Fprintf(w, "other messages skipped: %d; connection errors: %d\n", r.Other, r.Errors)
	cpuLine(w, r.CPU)
}
