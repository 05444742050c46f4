package hubws

import (
	"syscall"
	"unsafe"
)

// The loops' system calls on non-blocking descriptors go straight to the
// kernel (RawSyscall) rather than through Go's syscall entry and exit:
// none of them can block, and a call that takes a few tens of microseconds
// (a loopback write runs the receiver's side of TCP too) would otherwise
// have the runtime hand the loop's processor to another thread, which
// costs more than the call. Measured in docs/PERFORMANCE.md.

func rawRead(fd int, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// rawEpollPoll returns the ready events without waiting (epoll_pwait with
// a timeout of 0, which every Linux architecture has).
func rawEpollPoll(epfd int, events []syscall.EpollEvent) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(n), e
}
