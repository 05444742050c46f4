//go:build !linux

package process

import (
	"fmt"
	"syscall"
)

// programAttr has no parent-death signal outside Linux: the guard's
// SIGKILL of the group is all there is.
func programAttr() *syscall.SysProcAttr { return nil }

// signalName names a signal by its number: "signal 9".
func signalName(s syscall.Signal) string { return fmt.Sprintf("signal %d (%v)", int(s), s) }
