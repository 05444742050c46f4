package recovery

import (
	"errors"
	"fmt"
	"strings"

	"tether/internal/config"
)

// reasonText renders why the device is in recovery: a config error as one
// located problem per line, anything else as its message.
func reasonText(err error) string {
	if err == nil {
		return "the recovery app was started directly"
	}
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems) == 0 {
		return err.Error()
	}
	lines := append([]string{"the config does not load:"}, problemLines(ce.Problems, false)...)
	return strings.Join(lines, "\n")
}

// problemLines renders problems as "file:line:col: key.path: message",
// leaving out warnings unless asked.
func problemLines(problems []config.Problem, warnings bool) []string {
	var out []string
	for _, p := range problems {
		if p.Warning && !warnings {
			continue
		}
		var b strings.Builder
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Col > 0 {
				fmt.Fprintf(&b, ":%d", p.Col)
			}
		}
		if p.Path != "" {
			b.WriteString(": " + p.Path)
		}
		b.WriteString(": " + p.Msg)
		if p.Warning {
			b.WriteString(" (warning)")
		}
		out = append(out, b.String())
	}
	return out
}
