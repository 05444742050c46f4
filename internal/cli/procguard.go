package cli

import (
	"github.com/spf13/cobra"

	"tether/internal/apps/process"
)

func init() { subcommands = append(subcommands, newGuardCmd) }

// newGuardCmd is the hidden "tether process-guard": the process tether
// puts between itself and a process app's program (process.GuardMain).
func newGuardCmd(Stdio) *cobra.Command {
	return &cobra.Command{
		Use:                process.GuardCommand + " PATH ARGV0 [ARG...]",
		Short:              "Run a process app's program for tether device (not for use by hand)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := process.GuardMain(args); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
}
