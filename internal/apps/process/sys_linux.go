package process

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// programAttr starts the program so that it dies with the guard, however
// the guard ends: PR_SET_PDEATHSIG SIGKILL.
func programAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// signalName names a signal as kill -l does: "SIGKILL".
func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}
