package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bugst "go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// port is an open serial port. go.bug.st/serial opens it, sets its
// framing and speed and marks it exclusive (TIOCEXCL); the bytes go
// through a second, non-blocking descriptor of the same device (file),
// which also holds the advisory lock that keeps cooperating programs off
// the port, and whose reads and writes take deadlines and end when it is
// closed.
type port struct {
	lib  bugst.Port
	file *os.File
}

// portError is why a port is not open. missing marks a port that is not
// there (unplugged, or not yet plugged in): the status says the driver is
// waiting for it, not that something is wrong.
type portError struct {
	msg     string
	missing bool
}

func (e *portError) Error() string { return e.msg }

// busy is the error for a port another program holds; how says how.
func busy(path, how string) error {
	return &portError{msg: fmt.Sprintf("%s is held by another program%s", path, how)}
}

// open opens and configures the port s names.
func open(s settings) (*port, error) {
	fd, err := unix.Open(s.port, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(s.port, err)
	}
	if err := claim(fd, s.port); err != nil {
		unix.Close(fd)
		return nil, err
	}
	lib, err := bugst.Open(s.port, &s.mode)
	if err != nil {
		unix.Close(fd)
		return nil, libError(s, err)
	}
	return &port{lib: lib, file: os.NewFile(uintptr(fd), s.port)}, nil
}

// claim checks fd is a terminal nobody else holds, and locks it: an
// exclusive flock(2), as picocom, pyserial (exclusive=True) and other
// tethers take, and no TIOCEXCL set by another opener (as the Arduino IDE
// and other go.bug.st/serial programs do; root is not stopped by it).
func claim(fd int, path string) error {
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return fmt.Errorf("%s is not a serial port: %w", path, err)
	}
	if excl, err := unix.IoctlGetInt(fd, unix.TIOCGEXCL); err == nil && excl != 0 {
		return busy(path, " (it opened it exclusively)")
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return busy(path, holderText(path))
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	return nil
}

// openError says why path did not open.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV), errors.Is(err, unix.EIO):
		return &portError{msg: path + " is not there (unplugged?)", missing: true}
	case errors.Is(err, unix.EBUSY):
		return busy(path, " (it opened it exclusively)")
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied: tether's user needs the port's group (often dialout)", path)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// libError says why go.bug.st/serial refused the port.
func libError(s settings, err error) error {
	var pe *bugst.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case bugst.PortBusy:
			return busy(s.port, " (it opened it exclusively)")
		case bugst.InvalidSerialPort, bugst.InvalidSpeed, bugst.InvalidDataBits, bugst.InvalidParity, bugst.InvalidStopBits:
			return fmt.Errorf("%s refused %d %s: %w", s.port, s.mode.BaudRate, s.framing, err)
		}
	}
	return openError(s.port, err)
}

// Read reads what the port has, waiting for it until the deadline (none
// when zero); it fails once the port is closed or gone.
func (p *port) Read(b []byte, deadline time.Time) (int, error) {
	if err := p.file.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := p.file.Read(b)
	if n == 0 && err == nil {
		err = errors.New("port closed by the other end")
	}
	return n, err
}

// Write writes all of b unless the deadline passes first.
func (p *port) Write(b []byte, deadline time.Time) error {
	if err := p.file.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := p.file.Write(b)
	return err
}

// Close closes the port; reads and writes in progress end with an error.
func (p *port) Close() error {
	ferr := p.file.Close()
	return errors.Join(ferr, p.lib.Close())
}
