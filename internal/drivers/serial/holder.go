package serial

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// holder returns the process holding a flock(2) lock on path, found in
// /proc/locks by the device's inode; pid 0 when there is none or it cannot
// be told.
func holder(path string) (pid int, comm string) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, ""
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 4242 00:1a:3 0 EOF"; waiters have "->".
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != want {
			continue
		}
		if pid, err = strconv.Atoi(fs[4]); err == nil {
			return pid, processName(pid)
		}
	}
	return 0, ""
}

// processName is /proc/<pid>/comm, or "" when it cannot be read.
func processName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// holderText is " (pid 4242, picocom)" naming who holds path, or "".
func holderText(path string) string {
	pid, comm := holder(path)
	switch {
	case pid == 0:
		return ""
	case comm == "":
		return fmt.Sprintf(" (pid %d)", pid)
	}
	return fmt.Sprintf(" (pid %d, %s)", pid, comm)
}
