// Package cli is tether's command line: one file per subcommand, each turning
// flags into options and wiring the parts together. Run is the whole program
// as a function, so tests call it in-process as well as through the binary.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// Stdio is the standard streams a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	// log holds the shared logging flags once parsed; use Stdio.Logger.
	log *logOptions
}

// Logger returns the logger the --log-level and --log-format flags ask
// for, writing to Err.
func (s Stdio) Logger() (*slog.Logger, error) {
	o := s.log
	if o == nil {
		o = &logOptions{level: "info", format: "text"}
	}
	return o.newLogger(s.Err)
}

// ExitError asks main to exit with Code, printing Err first when it is not nil.
type ExitError struct {
	Code int
	Err  error
}

// Error describes the exit.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the error printed before exiting, if any.
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a mistake on the command line; Hint says what to run instead.
type UsageError struct {
	Err  error
	Hint string
}

// Error says what was wrong on the command line.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// Version is the release version, set at build time with
// -ldflags "-X tether/internal/cli.Version=v1.2.3".
var Version = "dev"

// Run runs tether with args (without the program name).
func Run(ctx context.Context, args []string, stdio Stdio) error {
	stdio.log = &logOptions{}
	root := newRootCmd(stdio)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	return root.ExecuteContext(ctx)
}

func newRootCmd(stdio Stdio) *cobra.Command {
	root := &cobra.Command{
		Use:   "tether",
		Short: "Networked devices that call home to a hub",
		Long: `tether runs a networked device (tether device), the hub its devices call
home to (tether hub), and the tools that go with them.

Start here:  tether demo     a hub and a device in one process, with the URLs to open`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: err, Hint: c.CommandPath() + " --help"}
	})
	addLogFlags(root, stdio.log)
	for _, add := range subcommands {
		root.AddCommand(add(stdio))
	}
	return root
}

// subcommands holds the constructors of the top-level commands; each
// subcommand's file adds itself in an init function.
var subcommands []func(Stdio) *cobra.Command
