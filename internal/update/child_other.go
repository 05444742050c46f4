//go:build !linux

package update

import "syscall"

// childAttr: other systems have no parent-death signal.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
