package update

import "syscall"

// childAttr makes a binary on trial die with the binary watching it
// (SIGKILL when its parent dies), so a killed old binary never leaves the
// new one holding the device's ports.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
