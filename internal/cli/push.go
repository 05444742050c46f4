package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newPushCmd, newRolloutCmd) }

type pushFlags struct {
	hubClientFlags
	devices, selects          []string
	canary, wave, maxFailures int
	wait                      bool
	waitFor                   time.Duration
}

func newPushCmd(stdio Stdio) *cobra.Command {
	var f pushFlags
	cmd := &cobra.Command{
		Use:   "push --hub URL (--device ID ... | --select LABEL=VALUE ...) FILE",
		Short: "Upload a signed update to a hub and roll it out to devices",
		Long: `tether push uploads an artifact (from tether pack) to a hub started with
--update-dir, which stores it by its SHA-256, and starts a rollout: the
devices named by --device, or every device the hub knows carrying all the
--select labels, frozen now (a label change never pulls a device into a
running rollout). A label is a word (kitchen) or a pair (site=berlin), as
the hub's auth file gives it to a device or the device's network.json
says it (device.labels). A canary goes first (--canary devices); once it has
committed, the rest go in waves of --wave devices. --max-failures failed
devices (rolled back or refused) pause the rollout, as a failed canary
does: tether rollout resume goes on, tether rollout abort stops it. Devices
offline get the update when they come back.

Each device downloads the artifact from its hub with its own credentials,
checks its signature against the keys in its root's keys/ folder, runs it
on trial and commits it or rolls it back by itself (docs/UPDATES.md).

The token needs admin on every device (a page token, --token or
$TETHER_TOKEN). --wait follows the rollout until it ends or pauses, and
exits with status 1 unless every device committed.`,
		Example: `  tether push --hub http://127.0.0.1:7771 --device Device_1 weather-2.0.1.tether
  tether push --hub https://hub.example:7771 --select site=berlin --canary 2 --wave 10 --wait tether-v0.5.0-arm.tether
  TETHER_TOKEN=... tether push --hub https://hub.example:7771 --select site=berlin --select board=pi-zero --max-failures 3 weather-2.0.2.tether`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPush(cmd.Context(), stdio, f, args[0]) },
	}
	fl := cmd.Flags()
	f.add(fl)
	fl.StringArrayVar(&f.devices, "device", nil, "a device to update (repeatable)")
	fl.StringArrayVar(&f.selects, "select", nil, "update every device carrying this label, e.g. site=berlin (repeatable: all of them)")
	fl.IntVar(&f.canary, "canary", 1, "devices that go first, alone")
	fl.IntVar(&f.wave, "wave", 0, "devices that go together after the canary; 0 means a quarter of the rest")
	fl.IntVar(&f.maxFailures, "max-failures", 1, "failed devices that pause the rollout")
	fl.BoolVar(&f.wait, "wait", false, "follow the rollout until it ends or pauses; exit 1 unless every device committed")
	fl.DurationVar(&f.waitFor, "wait-for", time.Hour, "with --wait, give up after this long")
	return cmd
}

func runPush(ctx context.Context, stdio Stdio, f pushFlags, file string) error {
	if (len(f.devices) == 0) == (len(f.selects) == 0) {
		return &UsageError{Err: fmt.Errorf("want --device ID or --select LABEL (one of them)"), Hint: "tether push --help"}
	}
	if f.canary < 1 || f.wave < 0 || f.maxFailures < 1 {
		return &UsageError{Err: fmt.Errorf("--canary and --max-failures: want 1 or more, --wave 0 or more"), Hint: "tether push --help"}
	}
	c, err := f.client("tether push")
	if err != nil {
		return err
	}
	art, err := os.Open(file)
	if err != nil {
		return err
	}
	defer art.Close()
	var a struct {
		SHA256   string `json:"sha256"`
		Size     int64  `json:"size"`
		Manifest struct{ Kind, Name, Version string }
	}
	if err := c.do(ctx, http.MethodPost, "/api/artifacts", art, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "uploaded %s %s %s: %d bytes, sha256 %s\n", a.Manifest.Kind, a.Manifest.Name, a.Manifest.Version, a.Size, a.SHA256)
	spec, _ := json.Marshal(map[string]any{"artifact": a.SHA256, "devices": f.devices, "select": f.selects,
		"canary": f.canary, "wave": f.wave, "max_failures": f.maxFailures})
	var r rolloutView
	if err := c.do(ctx, http.MethodPost, "/api/rollouts", bytes.NewReader(spec), &r); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "rollout %s: %s (%s), canary %d, then waves of %d; paused by %s failing\n  follow it: tether rollout show --hub %s %s, or %s/rollouts\n",
		r.ID, devices(len(r.Devices)), r.Selected, r.Canary, r.Wave, devices(r.MaxFailures), f.hub, r.ID, c.base)
	if !f.wait {
		return nil
	}
	return follow(ctx, stdio.Out, c, r.ID, f.waitFor)
}

// follow prints a rollout's devices as they change until it ends or
// pauses; it fails unless every device committed.
func follow(ctx context.Context, out io.Writer, c *hubClient, id string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last := map[string]string{}
	for {
		var r rolloutView
		if err := c.do(ctx, http.MethodGet, "/api/rollouts/"+id, nil, &r); err != nil {
			return err
		}
		for _, dev := range r.Devices {
			res := r.Results[dev]
			if now := res.State + " " + res.Reason; now != last[dev] && (last[dev] != "" || res.State != "pending") {
				last[dev] = now
				fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("  %-20s %-11s %s", dev, res.State, res.Reason), " "))
			}
		}
		switch r.State {
		case "done", "paused", "aborted":
			fmt.Fprintln(out, r.line())
			if r.State == "done" && r.Counts["committed"] == len(r.Devices) {
				return nil
			}
			return &ExitError{Code: 1}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rollout %s: still %s after %v", id, r.State, limit)
		case <-time.After(time.Second):
		}
	}
}

func newRolloutCmd(stdio Stdio) *cobra.Command {
	var f hubClientFlags
	cmd := &cobra.Command{
		Use:   "rollout (list | show ID | pause ID | resume ID | abort ID) --hub URL",
		Short: "List, follow, pause, resume or abort a hub's rollouts",
		Long: `tether rollout reads and steers the rollouts tether push started on a hub:
list (every rollout, newest first), show ID (each device's state and
reason), pause ID (no device is sent the update any more; those on it go
on), resume ID (go on past the failures so far, or a failed canary), abort
ID (stop for good). The token needs admin on the rollout's devices.`,
		Example: `  tether rollout list --hub http://127.0.0.1:7771
  tether rollout show --hub http://127.0.0.1:7771 r-20260102-150405-a1b2c3
  tether rollout resume --hub http://127.0.0.1:7771 r-20260102-150405-a1b2c3
  TETHER_TOKEN=... tether rollout abort --hub https://hub.example:7771 r-20260102-150405-a1b2c3`,
		Args: cobra.NoArgs,
	}
	list := &cobra.Command{Use: "list", Short: "Every rollout, newest first", Args: cobra.NoArgs,
		Example: "  tether rollout list --hub http://127.0.0.1:7771",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client("tether rollout list")
			if err != nil {
				return err
			}
			var rs []rolloutView
			if err := c.do(cmd.Context(), http.MethodGet, "/api/rollouts", nil, &rs); err != nil {
				return err
			}
			for _, r := range rs {
				fmt.Fprintln(stdio.Out, r.line())
			}
			if len(rs) == 0 {
				fmt.Fprintln(stdio.Out, "no rollouts")
			}
			return nil
		}}
	show := &cobra.Command{Use: "show ID", Short: "One rollout, device by device", Args: cobra.ExactArgs(1),
		Example: "  tether rollout show --hub http://127.0.0.1:7771 r-20260102-150405-a1b2c3",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client("tether rollout show")
			if err != nil {
				return err
			}
			var r rolloutView
			if err := c.do(cmd.Context(), http.MethodGet, "/api/rollouts/"+args[0], nil, &r); err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, r.line())
			for _, dev := range r.Devices {
				res := r.Results[dev]
				fmt.Fprintf(stdio.Out, "  wave %d  %-20s %-11s %s\n", res.Wave, dev, res.State, res.Reason)
			}
			return nil
		}}
	cmd.AddCommand(list, show)
	for _, action := range []string{"pause", "resume", "abort"} {
		cmd.AddCommand(&cobra.Command{Use: action + " ID", Short: map[string]string{
			"pause": "Send the update to no more devices", "resume": "Go on past the failures so far", "abort": "Stop the rollout for good"}[action],
			Example: "  tether rollout " + action + " --hub http://127.0.0.1:7771 r-20260102-150405-a1b2c3",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := f.client("tether rollout " + action)
				if err != nil {
					return err
				}
				var r rolloutView
				if err := c.do(cmd.Context(), http.MethodPost, "/api/rollouts/"+args[0]+"/"+action, nil, &r); err != nil {
					return err
				}
				fmt.Fprintln(stdio.Out, r.line())
				return nil
			}})
	}
	f.add(cmd.PersistentFlags())
	return cmd
}
