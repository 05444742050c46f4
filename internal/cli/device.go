package cli

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"tether/internal/device"
	"tether/internal/logring"
	"tether/internal/sdnotify"
	"tether/internal/update"
)

func init() { subcommands = append(subcommands, newDeviceCmd) }

// deviceFlags are tether device's flags.
type deviceFlags struct {
	root          string
	net           string
	recoveryAddr  string
	recoveryFall  string
	confirmWindow time.Duration
	updateWindow  time.Duration
}

func newDeviceCmd(stdio Stdio) *cobra.Command {
	var f deviceFlags
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Run a device: load its config, bring its network up, run its app, recover when it cannot",
		Long: `tether device runs a networked device. It boots:

  1. loads network.json and app.json from the device root (--root), or the
     embedded defaults without one (demo app on unprivileged ports, sim
     network, home 127.0.0.1:7770);
  2. brings the network up (station first, then the access point);
  3. looks up the app named in app.json ("app": "demo", "echoserver", ...,
     or a section holding "exec": a program of your own, docs/APPS.md);
  4. runs it under a supervisor.

An error or panic escaping the app is logged with its stack and the app is
restarted with backoff; after 3 failures within a minute the device enters
recovery. A config that does not load, or an app name this binary lacks,
enters recovery at once.

Recovery serves a page on --recovery-addr saying why, with the recent log,
both config files editable (checked before saving: an invalid edit is refused
with its line and column, and nothing is written) and a restart button that
boots again. The same is on the command protocol over a WebSocket on the same
port (GET status, CMD save_config [file, text], CMD restart), and over the
call-home connection when the hub's address can be read, so a hub can repair
the device. Where the network backend can, recovery also brings up the access
point. When it cannot listen on its address it falls back to every interface
on that port, then to --recovery-fallback, and calls home either way; when app.json
does not load it takes the hub from what of it reads whole, else from
app.json.bak (the last good version), and logs which.

Every app also answers tether's operator items, locally and through the hub:
CMD restart, GET sys (uptime, load, memory, disk, temperature, WiFi signal),
GET config and CMD apply_config (checked like recovery's save; an unconfirmed
change that leaves the device off its hub or its app failing is rolled back
after --confirm-window), GET log and CMD log_subscribe (the live log), and
GET wifi_scan. The log's last part is kept in tether.log in the device root,
so it survives a restart or a power cut.

Updates come from the hub (CMD update, sent by tether push): signed by a
key in the root's keys/ folder, checked before anything is staged, run on
trial for --update-window and rolled back by themselves when the app fails,
stops answering its health probe or the device loses its hub
(docs/UPDATES.md).

The device's page, command API and recovery ask for the device password:
made at first start (also the first start of a tether that has them) and
shown once on standard error, never in the device's log; stored as a bcrypt
hash in DIR/device.passwd. Log in on the device's page, or send
"Authorization: Bearer <password>" (tether ws --token). "auth": "off" in
app.json turns it off, warned about at every start. tether device passwd
sets a new one; in recovery, someone on the device's own access point can
too. Calling home is not affected: the hub's grants govern its pages.

Ctrl-C (SIGINT) stops the device and exits with status 130. SIGTERM shuts it
down gracefully: WebSocket clients are closed with 1001 and the process exits
with status 0 within 5 s.`,
		Example: `  tether device                                  # embedded defaults: demo app, sim network
  tether device --root /etc/tether --net nm      # a Raspberry Pi with NetworkManager
  tether device --root ./dev1 --net sim --recovery-addr 127.0.0.1:8080`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &UsageError{Err: fmt.Errorf("unexpected argument %q: tether device takes flags only", args[0]), Hint: "tether device --help"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runDevice(cmd.Context(), stdio, f) },
	}
	cmd.AddCommand(newPasswdCmd(stdio))
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "device root folder holding network.json and app.json (www/ and certs/ optional); empty uses the embedded defaults")
	fl.StringVar(&f.net, "net", "", `network backend: host (the host's network, already up), sim (a simulated radio) or nm (NetworkManager through nmcli); empty uses network.json's "net", else host`)
	fl.StringVar(&f.recoveryAddr, "recovery-addr", "", "address the recovery page listens on; empty uses the demo app's HTTP address from app.json if it can be read, else 0.0.0.0:8080 (if it cannot listen there: every interface on that port, then --recovery-fallback)")
	fl.StringVar(&f.recoveryFall, "recovery-fallback", "0.0.0.0:8080", "the last address recovery tries when it cannot listen on its own address on any interface (another program holds the port)")
	fl.DurationVar(&f.updateWindow, "update-window", 3*time.Minute, "how long an update from the hub stays on trial: committed only if the app stays up, answers its health probe and the device is back on its hub for all of it; otherwise the previous version comes back")
	fl.DurationVar(&f.confirmWindow, "confirm-window", 60*time.Second, "how long a config change applied from a page (CMD apply_config) waits to be confirmed; unconfirmed, it is rolled back if the device lost its hub or its app fails")
	cmd.AddCommand(newDeviceEnrollCmd(stdio))
	return cmd
}

func runDevice(ctx context.Context, stdio Stdio, f deviceFlags) error {
	if f.confirmWindow < 5*time.Second || f.confirmWindow > time.Hour {
		return &UsageError{Err: fmt.Errorf("--confirm-window: want 5s to 1h, got %v", f.confirmWindow), Hint: "tether device --help"}
	}
	if f.updateWindow < 2*time.Second || f.updateWindow > 24*time.Hour {
		return &UsageError{Err: fmt.Errorf("--update-window: want 2s to 24h, got %v", f.updateWindow), Hint: "tether device --help"}
	}
	switch f.net {
	case "", "host", "sim", "nm":
	default:
		return &UsageError{Err: fmt.Errorf("--net: want host, sim or nm, got %q", f.net), Hint: "tether device --help"}
	}
	if f.root != "" {
		if st, err := os.Stat(f.root); err != nil || !st.IsDir() {
			return &UsageError{Err: fmt.Errorf("--root: want a folder holding network.json and app.json, got %q", f.root), Hint: "tether device --help"}
		}
	}
	logger, err := stdio.Logger()
	if err != nil {
		return err
	}
	stopping := func() { sdnotify.Notify(sdnotify.Stopping) }
	binTrial := update.RunOptions{Root: f.root, Args: os.Args[1:], Stdout: stdio.Out, Stderr: stdio.Err, Logger: logger}
	trialOf := os.Getenv(update.TrialEnv)
	if f.root != "" && trialOf == "" && update.BinaryTrialPending(f.root) {
		logger.Warn("a new tether binary's trial was under way: starting it again")
		return runUntilSignal(ctx, logger, stopping, func(ctx context.Context) error {
			// Up as far as systemd (Type=notify) is concerned: the trial
			// runs the device, and may take longer than TimeoutStartSec.
			sdnotify.Notify(sdnotify.Ready)
			go sdnotify.Heartbeat(ctx, nil)
			return update.RunBinaryTrial(ctx, binTrial)
		})
	}
	var handedOver atomic.Bool
	devCtx, stopDev := context.WithCancel(context.Background())
	dev := device.New(device.Options{
		Root: f.root, Net: f.net, RecoveryAddr: f.recoveryAddr, RecoveryFallback: f.recoveryFall, Version: Version, ConfirmWindow: f.confirmWindow, UpdateWindow: f.updateWindow,
		// Test-only fault injection (docs/UPDATES.md, "Tests"): stop an
		// update at one step, for a test to SIGKILL the device there.
		UpdateHold: os.Getenv("TETHER_TEST_UPDATE_HOLD"),
		Logger:     logger, Log: logring.New(300), Console: stdio.Console(),
		Ready:       func(string, map[string]string) { sdnotify.Notify(sdnotify.Ready) },
		BinaryTrial: func(update.BinaryTrial) { handedOver.Store(true); stopDev() },
		TrialOf:     trialOf, TrialOver: stopDev,
	})
	return runUntilSignal(ctx, logger, stopping, func(ctx context.Context) error {
		go sdnotify.Heartbeat(ctx, nil)
		stop := context.AfterFunc(ctx, stopDev)
		defer stop()
		if err := dev.Run(devCtx); err != nil || ctx.Err() != nil || !handedOver.Load() {
			return err
		}
		return update.RunBinaryTrial(ctx, binTrial)
	})
}
