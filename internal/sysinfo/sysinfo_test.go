package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The real machine's /proc: a Linux test host has uptime, load, memory and
// a disk; temperature depends on the board.
func TestReadReal(t *testing.T) {
	in := Reader{}.Read(t.TempDir())
	if !in.UptimeOK || in.Uptime <= 0 {
		t.Errorf("uptime: %v ok=%v", in.Uptime, in.UptimeOK)
	}
	if !in.LoadOK {
		t.Error("load not read")
	}
	if !in.MemOK || in.MemTotal < 16<<20 || in.MemAvailable > in.MemTotal {
		t.Errorf("memory: total %d available %d ok=%v", in.MemTotal, in.MemAvailable, in.MemOK)
	}
	if !in.DiskOK || in.DiskTotal == 0 || in.DiskFree > in.DiskTotal {
		t.Errorf("disk: total %d free %d ok=%v", in.DiskTotal, in.DiskFree, in.DiskOK)
	}
	t.Logf("%+v", in)
}

// A fake tree: a board with two thermal zones reports the hotter; a zone
// that reads garbage is skipped; a machine without /proc reports nothing
// rather than failing.
func TestReadFake(t *testing.T) {
	dir := t.TempDir()
	proc, sys := filepath.Join(dir, "proc"), filepath.Join(dir, "sys")
	write(t, filepath.Join(proc, "uptime"), "3600.25 7000.00\n")
	write(t, filepath.Join(proc, "loadavg"), "0.50 0.25 0.10 1/234 5678\n")
	write(t, filepath.Join(proc, "meminfo"), "MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     600 kB\n")
	write(t, filepath.Join(sys, "class/thermal/thermal_zone0/temp"), "47236\n")
	write(t, filepath.Join(sys, "class/thermal/thermal_zone1/temp"), "51800\n")
	write(t, filepath.Join(sys, "class/thermal/thermal_zone2/temp"), "-\n")
	in := Reader{Proc: proc, Sys: sys}.Read(dir)
	if in.Uptime != 3600250*time.Millisecond || in.Load != [3]float64{0.5, 0.25, 0.1} {
		t.Errorf("uptime %v load %v", in.Uptime, in.Load)
	}
	if in.MemTotal != 1000*1024 || in.MemAvailable != 600*1024 {
		t.Errorf("memory %d %d", in.MemTotal, in.MemAvailable)
	}
	if !in.TempOK || in.Temp != 51.8 {
		t.Errorf("temp %v ok=%v, want 51.8", in.Temp, in.TempOK)
	}

	none := Reader{Proc: filepath.Join(dir, "nothing"), Sys: filepath.Join(dir, "nothing")}.Read(filepath.Join(dir, "nothing"))
	if none.UptimeOK || none.LoadOK || none.MemOK || none.DiskOK || none.TempOK {
		t.Errorf("a machine without /proc and /sys: %+v, want nothing OK", none)
	}
}

func TestParse(t *testing.T) {
	if _, err := ParseUptime([]byte("")); err == nil {
		t.Error("empty uptime accepted")
	}
	if _, err := ParseUptime([]byte("-5 1")); err == nil {
		t.Error("negative uptime accepted")
	}
	if _, err := ParseLoad([]byte("0.1 0.2")); err == nil {
		t.Error("two load numbers accepted")
	}
	// An old kernel without MemAvailable.
	total, avail, err := ParseMeminfo([]byte("MemTotal: 2000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 350 kB\n"))
	if err != nil || total != 2000*1024 || avail != 500*1024 {
		t.Errorf("meminfo without MemAvailable: %d %d %v", total, avail, err)
	}
	if _, _, err := ParseMeminfo([]byte("garbage")); err == nil {
		t.Error("meminfo without MemTotal accepted")
	}
	for _, bad := range []string{"", "abc", "999999999", "-273000"} {
		if _, err := ParseTemp([]byte(bad)); err == nil {
			t.Errorf("temp %q accepted", bad)
		}
	}
	if c, err := ParseTemp([]byte("-5500\n")); err != nil || c != -5.5 {
		t.Errorf("temp -5500: %v %v", c, err)
	}
}

// FuzzParse feeds the parsers what a broken /proc or sysfs could hold:
// none may panic, and what they accept is in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"3600.25 7000.00\n", "0.50 0.25 0.10 1/234 5678\n", "MemTotal: 1000 kB\nMemAvailable: 600 kB\n", "47236\n", "NaN Inf -Inf", "1e400 1e400 1e400", ":\n:\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseUptime(b); err == nil && d < 0 {
			t.Errorf("uptime %v", d)
		}
		if l, err := ParseLoad(b); err == nil && !(l[0] >= 0 && l[1] >= 0 && l[2] >= 0) {
			t.Errorf("load %v", l)
		}
		if tot, av, err := ParseMeminfo(b); err == nil && av > tot {
			t.Errorf("meminfo available %d over total %d", av, tot)
		}
		if c, err := ParseTemp(b); err == nil && (c < -60 || c > 200) {
			t.Errorf("temp %v", c)
		}
	})
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
