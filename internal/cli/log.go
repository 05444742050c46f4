package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

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

// Console returns the writer for what only the person at the device may
// see, once (device.Options.Console): Err itself with the text log format;
// with json, a writer that turns each line into an object like a log
// line's, so Err stays one JSON object per line for collectors.
func (s Stdio) Console() io.Writer {
	if s.log != nil && strings.EqualFold(s.log.format, "json") {
		return jsonConsole{s.Err}
	}
	return s.Err
}

// jsonConsole writes each Write as one JSON line.
type jsonConsole struct{ w io.Writer }

func (c jsonConsole) Write(p []byte) (int, error) {
	line, err := json.Marshal(map[string]string{
		"time": time.Now().Format(time.RFC3339Nano), "level": "INFO", "component": "console",
		"msg": strings.TrimSpace(string(p)),
	})
	if err != nil {
		return 0, err
	}
	if _, err := c.w.Write(append(line, '\n')); err != nil {
		return 0, err
	}
	return len(p), nil
}
