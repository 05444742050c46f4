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
	// BenchSystem and TargetSystem are the shares of each side's processor
	// time spent in the kernel (system time; 0 to 1): on loopback most of
	// a message's cost is the system calls that move it.
	BenchSystem  float64 `json:"bench_system_share"`
	TargetSystem float64 `json:"target_system_share,omitempty"`
	// PerMessage is TargetSeconds divided by the messages delivered while
	// measured (Relay only): what the target spent on each, in seconds.
	PerMessage float64 `json:"target_cpu_seconds_per_message,omitempty"`
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTimes is a process's processor time so far.
type cpuTimes struct{ user, system time.Duration }

func (c cpuTimes) total() time.Duration { return c.user + c.system }

// systemShare is the share of the time between c and later spent in the kernel.
func (c cpuTimes) systemShare(later cpuTimes) float64 {
	if d := later.total() - c.total(); d > 0 {
		return float64(later.system-c.system) / float64(d)
	}
	return 0
}

// cpuTime returns the user and system time used so far by process pid,
// or by this process when pid is 0.
func cpuTime(pid int) (cpuTimes, error) {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return cpuTimes{}, fmt.Errorf("read own cpu time: %w", err)
		}
		return cpuTimes{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, fmt.Errorf("read cpu time: %w", err)
	}
	// the command name may hold spaces: fields start after its ')'
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return cpuTimes{}, fmt.Errorf("read cpu time of %d: got %d fields in /proc/%d/stat, want at least 15", pid, len(f)+2, pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return cpuTimes{}, fmt.Errorf("read cpu time of %d: got utime %q, stime %q, want numbers", pid, f[11], f[12])
	}
	return cpuTimes{time.Duration(utime) * clockTick, time.Duration(stime) * clockTick}, nil
}

// cpuMeter measures CPU use between start and stop.
type cpuMeter struct {
	pid         int
	t0          time.Time
	self, other cpuTimes
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
	c := CPU{Bench: float64(self.total()-m.self.total()) / float64(el), Seconds: el.Seconds(), BenchSystem: m.self.systemShare(self)}
	if m.pid > 0 {
		other, err := cpuTime(m.pid)
		if err != nil {
			return c, err
		}
		used := other.total() - m.other.total()
		c.PID, c.Target, c.TargetSeconds = m.pid, float64(used)/float64(el), used.Seconds()
		c.TargetSystem = m.other.systemShare(other)
	}
	return c, nil
}
