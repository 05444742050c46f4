package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// logOptions are the logging flags every command shares.
type logOptions struct {
	level  string
	format string
}

// addLogFlags registers --log-level and --log-format on root, for every
// subcommand.
func addLogFlags(root *cobra.Command, o *logOptions) {
	f := root.PersistentFlags()
	f.StringVar(&o.level, "log-level", "info", "least severe log level shown: debug, info, warn or error (debug includes wire dumps)")
	f.StringVar(&o.format, "log-format", "text", "log format: text (for people) or json (one object per line, for collectors)")
}

// newLogger makes the logger o asks for, writing to w.
func (o *logOptions) newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--log-level: want debug, info, warn or error, got %q", o.level), Hint: "tether --help"}
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(o.format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, &UsageError{Err: fmt.Errorf("--log-format: want text or json, got %q", o.format), Hint: "tether --help"}
}
