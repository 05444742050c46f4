package devauth

import (
	"fmt"
	"path/filepath"
	"strings"
)

// announce shows a new password once on the console, and says in the log
// (which pages and the hub show) that it did, without the password.
func (g *Guard) announce(pw string) {
	where, reset := "in memory for this run only (no device root)", "It changes at every start."
	if g.opts.Root != "" {
		where = "as a bcrypt hash in " + filepath.Join(g.opts.Root, File)
		reset = "Change it on the device's page (" + Prefix + "password); set a new one with\n" +
			"tether device passwd --root " + g.opts.Root
	}
	if g.opts.Console == nil {
		g.log.Warn("a device password was made, but there is no console to show it on: set one with tether device passwd", "stored", where)
		return
	}
	line := strings.Repeat("=", 72)
	fmt.Fprintf(g.opts.Console, `
%s
tether: this device's password (its page, command API and recovery ask for it):

    %s

It is shown this once, here only: it is not in the device's log.
It is kept %s.
%s
Log in on the device's page, or send "Authorization: Bearer <password>".
%s

`, line, pw, where, reset, line)
	g.log.Warn("made a device password (first start, or first start of a tether with device passwords): "+
		"shown once on the console, never in this log", "stored", where)
}
