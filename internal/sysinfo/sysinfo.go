// Package sysinfo reads what an operator wants to know about the machine a
// device runs on, from Linux's /proc and /sys: uptime, load, memory, the
// disk holding a folder, and the temperature of its thermal zones.
//
// Every reading is independent: what a machine lacks (no thermal zone in a
// container, no /proc on another OS) is reported as absent (its OK field
// false), never as an error that hides the rest. A Reader's paths can point
// at a fake tree, so tests run anywhere.
package sysinfo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Info is one reading. A field whose OK flag is false could not be read.
type Info struct {
	Uptime   time.Duration // since the system booted
	UptimeOK bool

	Load   [3]float64 // load average over 1, 5 and 15 minutes
	LoadOK bool

	MemTotal, MemAvailable uint64 // bytes (MemAvailable: what can be had without swapping)
	MemOK                  bool

	DiskTotal, DiskFree uint64 // bytes of the filesystem, free to unprivileged users
	DiskOK              bool

	Temp   float64 // °C, the hottest thermal zone
	TempOK bool
}

// Reader reads Info. The zero value reads the real /proc and /sys.
type Reader struct {
	// Proc is procfs' mount point; "" means /proc.
	Proc string
	// Sys is sysfs' mount point; "" means /sys.
	Sys string
}

// Read takes a reading; disk names a folder whose filesystem is measured
// ("" means /).
func (r Reader) Read(disk string) Info {
	var in Info
	proc, sys := r.Proc, r.Sys
	if proc == "" {
		proc = "/proc"
	}
	if sys == "" {
		sys = "/sys"
	}
	if disk == "" {
		disk = "/"
	}
	if b, err := os.ReadFile(filepath.Join(proc, "uptime")); err == nil {
		in.Uptime, err = ParseUptime(b)
		in.UptimeOK = err == nil
	}
	if b, err := os.ReadFile(filepath.Join(proc, "loadavg")); err == nil {
		in.Load, err = ParseLoad(b)
		in.LoadOK = err == nil
	}
	if b, err := os.ReadFile(filepath.Join(proc, "meminfo")); err == nil {
		in.MemTotal, in.MemAvailable, err = ParseMeminfo(b)
		in.MemOK = err == nil
	}
	in.DiskTotal, in.DiskFree, in.DiskOK = diskSpace(disk)
	in.Temp, in.TempOK = thermal(filepath.Join(sys, "class", "thermal"))
	return in
}

// ParseUptime reads /proc/uptime ("12345.67 23456.78").
func ParseUptime(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("parse uptime: empty")
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !(s >= 0 && s <= 1e9) { // NaN fails too
		return 0, fmt.Errorf("parse uptime: want seconds, got %q", f[0])
	}
	return time.Duration(s * float64(time.Second)), nil
}

// ParseLoad reads /proc/loadavg ("0.08 0.11 0.09 1/123 4567").
func ParseLoad(b []byte) ([3]float64, error) {
	var l [3]float64
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, fmt.Errorf("parse loadavg: want 3 numbers, got %d fields", len(f))
	}
	for i := range l {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || !(v >= 0 && v <= 1e6) { // NaN and Inf fail too
			return l, fmt.Errorf("parse loadavg: field %d: want a number, got %q", i+1, f[i])
		}
		l[i] = v
	}
	return l, nil
}

// ParseMeminfo reads MemTotal and MemAvailable (kB) from /proc/meminfo,
// in bytes. Kernels before 3.14 lack MemAvailable: then MemFree + Buffers
// + Cached stands in for it.
func ParseMeminfo(b []byte) (total, avail uint64, err error) {
	kb := map[string]uint64{}
	for line := range bytes.Lines(b) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseUint(f[0], 10, 64); err == nil && v < 1<<50 {
			kb[string(name)] = v
		}
	}
	total, ok := kb["MemTotal"]
	if !ok {
		return 0, 0, errors.New("parse meminfo: no MemTotal")
	}
	avail, ok = kb["MemAvailable"]
	if !ok {
		avail = kb["MemFree"] + kb["Buffers"] + kb["Cached"]
	}
	return total * 1024, min(avail, total) * 1024, nil
}

// thermal returns the hottest reading of dir's thermal_zone*/temp files
// (millidegrees Celsius), if any reads.
func thermal(dir string) (float64, bool) {
	zones, _ := filepath.Glob(filepath.Join(dir, "thermal_zone*", "temp"))
	best, ok := 0.0, false
	for _, z := range zones {
		b, err := os.ReadFile(z)
		if err != nil {
			continue
		}
		c, err := ParseTemp(b)
		if err != nil {
			continue
		}
		if !ok || c > best {
			best, ok = c, true
		}
	}
	return best, ok
}

// ParseTemp reads a thermal zone's temp file: millidegrees Celsius
// ("47236"), returned in °C rounded to a tenth. Readings outside -60..200 °C
// are a sensor's error codes, refused.
func ParseTemp(b []byte) (float64, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse temp: want millidegrees, got %q", s)
	}
	if v < -60000 || v > 200000 {
		return 0, fmt.Errorf("parse temp: %d m°C is outside any board's range", v)
	}
	return float64(v/100) / 10, nil
}
