package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"tether/internal/config"
)

// Check looks at the port c names without opening it (opening resets
// many boards), for "tether config check": a port that is not there is a
// warning, since USB devices come and go and the driver waits for it; a
// path that is not a device, one tether may not open, or a port another
// program holds (an flock(2) lock) is an error, unless the holder is a
// tether, most likely the device running this very config.
func Check(c config.Driver) []config.Problem {
	if c.Port == "" {
		return nil // config reports it
	}
	warn := func(format string, args ...any) []config.Problem {
		return []config.Problem{c.Problem("port", fmt.Sprintf(format, args...), true)}
	}
	fail := func(format string, args ...any) []config.Problem {
		return []config.Problem{c.Problem("port", fmt.Sprintf(format, args...), false)}
	}
	fi, err := os.Stat(c.Port)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return warn("%s is not there now (unplugged?): the driver waits for it and opens it when it comes", c.Port)
	case err != nil:
		return fail("%v", err)
	case fi.Mode()&fs.ModeCharDevice == 0:
		return fail("%s is not a serial port: want a character device, got %s", c.Port, describeMode(fi.Mode()))
	}
	if err := unix.Access(c.Port, unix.R_OK|unix.W_OK); err != nil {
		return fail("%s: permission denied: tether's user needs the port's group (often dialout)", c.Port)
	}
	switch pid, comm := holder(c.Port); {
	case pid == 0:
	case comm == "tether":
		return warn("%s is in use by tether (pid %d): the device running this config?", c.Port, pid)
	default:
		return fail("%s is held by another program%s: the driver cannot open it until it lets go", c.Port, holderText(c.Port))
	}
	return nil
}

// describeMode names what a path is, for a path that is not a device.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a " + m.Type().String() + " file"
}
