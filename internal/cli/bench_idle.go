//go:build !tether_device

package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"tether/internal/bench"
)

func newBenchIdleCmd(stdio Stdio) *cobra.Command {
	var (
		c benchCommon
		o bench.IdleOptions
	)
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Open many idle device connections and report what they cost the target",
		Long: `tether bench idle opens --devices device connections (ids idle-0, idle-1, …)
at --ramp a second, holds them for --hold (answering the server's pings),
and reports connect failures, connections the server dropped, and, with
--pid, the VmRSS of that process (from /proc/PID/status) before the first
connection and at the end of the hold, and their difference per connection.

It raises its own open-file limit to the hard limit first and says so when
--devices is beyond it; the target needs a limit that high as well. Past
20,000 connections to a loopback address it spreads them over the source
addresses 127.0.0.1, 127.0.0.2, … so ephemeral ports do not run out.

--state has each connection send one state object once connected, as a
device does (its id, app "idle", made-up system information that differs
between devices), so a hub's dashboard has something to show and sort.

--broker mqtt holds the same connections to an MQTT broker over WebSocket
(e.g. Mosquitto): each sends a CONNECT (client id = device id, no
keep-alive) and then stays silent, for a baseline.`,
		Example: `  tether bench idle --devices 10000 --url ws://127.0.0.1:7770 --pid $(pidof tether) --ramp 2000/s --hold 10s
  tether bench idle --devices 300 --state --hold 10m   # fill a hub's dashboard
  tether bench idle --broker mqtt --url ws://127.0.0.1:8080 --devices 10000 --pid $(pidof mosquitto)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := c.header(cmd)
			if err != nil {
				return err
			}
			o.Header = h
			limit, err := bench.RaiseNoFile()
			if err != nil {
				return err
			}
			if uint64(o.Devices)+64 > limit {
				fmt.Fprintf(stdio.Err, "open-file limit is %d (the hard limit): %d connections will not all open; raise it (ulimit -Hn, LimitNOFILE=)\n", limit, o.Devices)
			}
			_, err = runBench(cmd, stdio, c.json, func(ctx context.Context, p *progressLine) (bench.IdleResult, error) {
				o.Progress, o.Interval = p.show, p.interval
				return bench.Idle(ctx, o)
			}, idleTable)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.URL, "url", "ws://127.0.0.1:7770", "the device endpoint, without the id (with --broker mqtt, the broker's WebSocket URL)")
	fl.StringVar(&o.Broker, "broker", "hub", "hub (a WebSocket to URL/<id>) or mqtt (a WebSocket with subprotocol mqtt to URL and an MQTT CONNECT), the baseline")
	fl.IntVar(&o.Devices, "devices", 1000, "connections to open")
	fl.StringVar(&o.IDPrefix, "id-prefix", "idle-", "start of every device id")
	fl.IntVar(&o.PID, "pid", 0, "process whose memory to read (0: none)")
	o.Ramp = 1000 // before the flag is made, so --help shows it
	fl.Var((*rateValue)(&o.Ramp), "ramp", "connections opened per second, e.g. 1000 or 1000/s")
	fl.DurationVar(&o.Hold, "hold", 10*time.Second, "how long to hold the connections once all are open")
	fl.BoolVar(&o.State, "state", false, "each connection sends one state object as a device does (app \"idle\", made-up sys/ keys), to fill a hub's dashboard")
	c.add(cmd)
	return cmd
}

func idleTable(w *tabwriter.Writer, r bench.IdleResult) {
	fmt.Fprintf(w, "idle %s (%s): %d devices, opened in %.2fs, held %s, open-file limit %d\n",
		r.URL, r.Broker, r.Devices, r.RampTime.Seconds(), r.Hold, r.NoFile)
	fmt.Fprintln(w, "CONNECTED\tFAILED\tDROPPED\tRSS BEFORE\tRSS AFTER\tPER CONNECTION")
	before, after, per := "-", "-", "-"
	if r.PID > 0 {
		before, after = fmtBytes(r.RSSBefore), fmtBytes(r.RSSAfter)
		per = fmt.Sprintf("%.0f B", r.PerConn)
	}
	fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s\n", r.Connected, r.Failures, r.Dropped, before, after, per)
	if r.FirstErr != "" {
		fmt.Fprintf(w, "first failure: %s\n", r.FirstErr)
	}
}

// rateValue is a flag of events per second written "N" or "N/s".
type rateValue float64

func (r *rateValue) String() string { return fmt.Sprintf("%g/s", float64(*r)) }
func (r *rateValue) Type() string   { return "rate" }

func (r *rateValue) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || v <= 0 {
		return fmt.Errorf("got %q, want a positive number of connections a second like 1000 or 1000/s", s)
	}
	*r = rateValue(v)
	return nil
}
