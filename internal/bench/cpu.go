package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is the processor time the benchmark and its target used during a
// run, in cores (1.0 is one core busy the whole time), so a reader can see
// which side was the bound.
type CPU struct {
	Bench  float64 `json:"bench_cores"`
	Target float64 `json:"target_cores,omitempty"`
	PID    int     `json:"target_pid,omitempty"`
	// TargetSeconds is the processor time the target used while measured
	// (user plus system, from /proc/PID/stat), over Seconds of wall time.
	TargetSeconds float64 `json:"target_cpu_seconds,omitempty"`
	Seconds       float64 `json:"measured_seconds"`
	// PerMessage is TargetSeconds divided by the messages delivered while
	// measured (Relay only): what the target spent on each, in seconds.
	PerMessage float64 `json:"target_cpu_seconds_per_message,omitempty"`
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user plus system time used so far by process pid,
// or by this process when pid is 0.
func cpuTime(pid int) (time.Duration, error) {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, fmt.Errorf("read own cpu time: %w", err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	// the command name may hold spaces: fields start after its ')'
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("read cpu time of %d: got %d fields in /proc/%d/stat, want at least 15", pid, len(f)+2, pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read cpu time of %d: got utime %q, stime %q, want numbers", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuMeter measures CPU use between start and stop.
type cpuMeter struct {
	pid         int
	t0          time.Time
	self, other time.Duration
	err         error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, t0: time.Now()}
	m.self, m.err = cpuTime(0)
	if pid > 0 && m.err == nil {
		m.other, m.err = cpuTime(pid)
	}
	return m
}

// stop returns the cores used since start; an error reading the target
// is returned with what could be measured.
func (m *cpuMeter) stop() (CPU, error) {
	el := time.Since(m.t0)
	if m.err != nil || el <= 0 {
		return CPU{}, m.err
	}
	self, err := cpuTime(0)
	if err != nil {
		return CPU{}, err
	}
	c := CPU{Bench: float64(self-m.self) / float64(el), Seconds: el.Seconds()}
	if m.pid > 0 {
		other, err := cpuTime(m.pid)
		if err != nil {
			return c, err
		}
		c.PID, c.Target, c.TargetSeconds = m.pid, float64(other-m.other)/float64(el), (other - m.other).Seconds()
	}
	return c, nil
}
