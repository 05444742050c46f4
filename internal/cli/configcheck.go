package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"tether/internal/apps"
	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/drivers"
)

func init() { subcommands = append(subcommands, newConfigCmd) }

// newConfigCmd is "tether config", the parent of the config tools.
func newConfigCmd(stdio Stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a device's configuration files",
		Long: `Tools for a device's configuration files, network.json and app.json.
docs/CONFIG.md describes every key.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newConfigCheckCmd(stdio))
	return cmd
}

// newConfigCheckCmd is "tether config check".
func newConfigCheckCmd(stdio Stdio) *cobra.Command {
	var root string
	var strict bool
	cmd := &cobra.Command{
		Use:   "check --root DIR [--strict]",
		Short: "Validate network.json and app.json in a device root",
		Long: `Check reads network.json and app.json in the device root DIR as
"tether device --root DIR" would, and prints every problem, one per line,
with its file, line, column and key path:

  app.json:7:14: error: demo.http.port: want a port number 1-65535, got "eighty"
  network.json:7:18: warning: ap.essid: placeholder "<device AP ssid>", unset

A note says whether the device asks for its password ("auth" in app.json)
and whether the root holds one yet (device.passwd).

It also checks what the device could never use, as the device's boot and
recovery's save do: an app this tether does not have (listing those it
has), a device id the hub refuses, a token holding CR or LF, a file that
is not UTF-8, and (a warning) a listen address this machine lacks.

Errors stop a device from loading its config (it falls into recovery).
Warnings do not: unknown keys (an error with --strict), unfilled
placeholders in angle brackets, an app with no section of settings, a
listen address this machine lacks, a serial port that is not plugged in
now. Serial ports are looked at, not opened: a path that is not a serial
device, one tether may not open, or a port another program holds is an
error. A missing file is not a problem: the embedded defaults take its
place.

The root may also be given as the only argument. Exit status: 0 when
there is no error, 1 when there is one (or the command line is wrong).`,
		Example: `  tether config check --root /srv/device
  tether config check --root ./dev --strict`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && root == "" {
				root = args[0]
			}
			if root == "" || len(args) == 1 && args[0] != root {
				return &UsageError{
					Err:  errors.New("config check: want one device root, given as --root DIR"),
					Hint: "tether config check --root DIR",
				}
			}
			return runConfigCheck(stdio.Out, root, strict)
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "device root `DIR` holding network.json and app.json (required)")
	cmd.Flags().BoolVar(&strict, "strict", false, "report unknown keys as errors, not warnings")
	return cmd
}

// runConfigCheck prints root's problems and a summary to w, and returns an
// *ExitError with code 1 if any problem is an error.
func runConfigCheck(w io.Writer, root string, strict bool) error {
	cfg, problems, _ := apps.ConfigChecks().Load(root)
	_, served := cfg.App.ServedBy() // the demo's, or the process app's
	problems = append(problems, drivers.Check(served.Drivers)...)
	if strict {
		problems = config.Strict(problems)
	}
	errs, warns := 0, 0
	for _, p := range problems {
		level := "error"
		if p.Warning {
			level, warns = "warning", warns+1
		} else {
			errs++
		}
		fmt.Fprintln(w, formatProblem(p, level))
	}
	for _, name := range cfg.Missing {
		fmt.Fprintf(w, "%s: note: missing, the embedded defaults apply\n", name)
	}
	if st, err := os.Stat(root); err == nil && st.IsDir() {
		fmt.Fprintln(w, authNote(root, cfg.App.Auth))
	}
	fmt.Fprintf(w, "%s: %s\n", root, summary(errs, warns))
	if errs > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// authNote says whether the device will ask for its password (app.json's
// "auth": auth), of whom, and whether it has one yet.
func authNote(root, auth string) string {
	if auth == config.AuthOff {
		return config.AppFile + `: note: "auth": "off": the device's page, command API and recovery ask for no password; anyone on its network may use them`
	}
	file := filepath.Join(root, devauth.File)
	switch has, err := devauth.Stored(root); {
	case err != nil:
		return file + ": note: " + err.Error() + ": nobody can log in to the device until it is set again (tether device passwd --root " + root + ")"
	case !has:
		return file + ": note: no device password yet: the device makes one at its next start and shows it once on its console (or set one: tether device passwd --root " + root + ")"
	case auth == config.AuthStrict:
		return file + `: note: the device's page, command API and recovery ask for the device password kept here, of the device's own local processes too ("auth": "strict")`
	}
	return file + `: note: the device's page, command API and recovery ask for the device password kept here (not of the device's own user's and root's processes on loopback: "auth": "strict" asks them too)`
}

// formatProblem puts the level after the position, as compilers do, so
// editors can jump to the line: "app.json:7:14: error: demo.http.port: …".
func formatProblem(p config.Problem, level string) string {
	if p.Path == "" {
		return fmt.Sprintf("%s: %s: %s", p.Pos(), level, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s: %s", p.Pos(), level, p.Path, p.Msg)
}

func summary(errs, warns int) string {
	plural := func(n int, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	switch {
	case errs > 0:
		return plural(errs, "error") + ", " + plural(warns, "warning")
	case warns > 0:
		return "ok, " + plural(warns, "warning")
	}
	return "ok"
}
