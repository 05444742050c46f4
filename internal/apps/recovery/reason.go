package recovery

import (
	"errors"
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
		switch {
		case !p.Warning:
			out = append(out, p.String())
		case warnings:
			out = append(out, p.String()+" (warning)")
		}
	}
	return out
}
