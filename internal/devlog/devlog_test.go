package devlog

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tether/internal/logring"
)

// crashEnv switches the test binary into a child that logs lines into the
// file it names and waits to be killed.
const crashEnv = "TETHER_DEVLOG_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

func crashChild(path string) {
	fl, err := OpenFile(FileOptions{Path: path})
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	log := slog.New(NewHandler(New(Options{File: fl})))
	for i := range 50 {
		log.Info("working", "n", i)
	}
	log.Error("about to crash", "cause", "the test kills it")
	fmt.Println("logged")
	time.Sleep(time.Minute) // killed long before
}

// Lines reach the ring, the file and the followers of their level; a
// follower whose queue is full loses lines, counted for it and in total.
func TestFanOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tether.log")
	fl, err := OpenFile(FileOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l := New(Options{Ring: logring.New(10), File: fl})
	all := l.Follow(slog.LevelInfo, 3)
	warn := l.Follow(slog.LevelWarn, 10)
	log := slog.New(NewHandler(l))
	log.Debug("not kept")
	log.Info("one", "k", "v")
	log.Warn("two")
	log.Info("three")
	log.Error("four")
	log.Info("five")

	lines, dropped := all.Take()
	if len(lines) != 3 || dropped != 2 || !strings.Contains(lines[0], "msg=one k=v") {
		t.Errorf("info follower: %d lines, %d dropped: %q", len(lines), dropped, lines)
	}
	lines, dropped = warn.Take()
	if len(lines) != 2 || dropped != 0 || LevelOf(lines[0]) != slog.LevelWarn || LevelOf(lines[1]) != slog.LevelError {
		t.Errorf("warn follower: %q, %d dropped", lines, dropped)
	}
	if l.Dropped() != 2 {
		t.Errorf("Dropped: %d, want 2", l.Dropped())
	}
	warn.Close()
	log.Error("six")
	if lines, _ := warn.Take(); len(lines) != 0 {
		t.Errorf("a closed follower got %q", lines)
	}
	ring := l.Ring().Lines()
	if len(ring) != 7 || !strings.HasPrefix(ring[0], "--- tether started ") || strings.Contains(strings.Join(ring, "\n"), "not kept") {
		t.Errorf("ring: %q", ring)
	}
	if _, err := time.Parse(TimeFormat, strings.TrimPrefix(strings.Fields(ring[1])[0], "time=")); err != nil {
		t.Errorf("line time: %v in %q", err, ring[1])
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 7 {
		t.Errorf("file holds %d lines, want 7:\n%s", n, data)
	}
}

// A crash (SIGKILL) right after logging loses nothing: the next start finds
// the lines, the error last, before its own start marker.
func TestCrashKeepsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tether.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "logged") {
		t.Fatalf("child said %q", buf[:n])
	}
	cmd.Process.Kill()
	cmd.Wait()

	fl, err := OpenFile(FileOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l := New(Options{File: fl})
	defer l.Close()
	ring := l.Ring().Lines()
	if len(ring) != 53 {
		t.Fatalf("after the crash the ring holds %d lines, want 53 (marker, 50, error, marker):\n%s", len(ring), strings.Join(ring, "\n"))
	}
	if !strings.Contains(ring[51], "level=ERROR") || !strings.Contains(ring[51], "about to crash") || !strings.HasPrefix(ring[52], "--- tether started") {
		t.Errorf("the crash's cause is not last before the new start:\n%s\n%s", ring[51], ring[52])
	}
}

// The file pair stays bounded: past MaxBytes the file becomes .1 and a new
// one starts; the next open reads the last lines across both.
func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tether.log")
	fl, err := OpenFile(FileOptions{Path: path, MaxBytes: 4096, Keep: 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		fl.WriteLine(fmt.Sprintf("line %04d %s", i, strings.Repeat("x", 60)), i%10 == 0)
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil || st.Size() > 4096+100 {
			t.Errorf("%s: %v, %v bytes", p, err, st.Size())
		}
	}
	fl, err = OpenFile(FileOptions{Path: path, MaxBytes: 4096, Keep: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	prev := fl.Previous()
	if len(prev) != 20 || !strings.HasPrefix(prev[19], "line 0999 ") || !strings.HasPrefix(prev[0], "line 0980 ") {
		t.Errorf("previous lines: %d, first %q last %q", len(prev), first(prev), last(prev))
	}
}

// What a power cut can leave at the end of the file (a torn line, a run of
// zero bytes, broken UTF-8) is cleaned up when it is read back.
func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tether.log")
	os.WriteFile(path, []byte("good one\nbad \xff byte\n\x00\x00\x00\x00\ntorn li"), 0o640)
	fl, err := OpenFile(FileOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	want := []string{"good one", "bad \uFFFD byte", "torn li"}
	if got := fl.Previous(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("previous: %q, want %q", got, want)
	}
}

// A full disk loses lines (counted) without blocking or failing the
// logger, and writing resumes once there is room again.
func TestDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tether.log")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	fl, err := OpenFile(FileOptions{Path: path, RetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	for range 5 {
		fl.WriteLine("lost", true)
	}
	if fl.Lost() != 5 {
		t.Errorf("Lost: %d, want 5", fl.Lost())
	}
	os.Remove(path) // room again: a plain file
	time.Sleep(100 * time.Millisecond)
	fl.WriteLine("kept", true)
	if data, _ := os.ReadFile(path); string(data) != "kept\n" {
		t.Errorf("after the disk has room: %q", data)
	}
}

func TestLevelOf(t *testing.T) {
	for line, want := range map[string]slog.Level{
		"time=x level=WARN msg=a":           slog.LevelWarn,
		"time=x level=ERROR msg=a":          slog.LevelError,
		"time=x level=INFO+2 msg=a":         slog.LevelInfo + 2,
		"--- tether started":                slog.LevelInfo,
		`time=x level=INFO msg="level=BAD"`: slog.LevelInfo,
		"xlevel=ERROR":                      slog.LevelInfo,
	} {
		if got := LevelOf(line); got != want {
			t.Errorf("LevelOf(%q) = %v, want %v", line, got, want)
		}
	}
}

// FuzzTail reads whatever a log file may hold after a crash: the lines it
// gives back are whole, valid UTF-8, without zero bytes, and bounded.
func FuzzTail(f *testing.F) {
	for _, s := range []string{"a\nb\n", "\x00\x00", "torn", "\xff\xfe\n\n\r\n", strings.Repeat("x", 5000) + "\ny\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "tether.log")
		if err := os.WriteFile(path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		lines := readTail(path, 10, 1024)
		if len(lines) > 10 {
			t.Fatalf("%d lines, want at most 10", len(lines))
		}
		for _, l := range lines {
			if l == "" || !utf8.ValidString(l) || strings.ContainsAny(l, "\x00\n") || len(l) > 1024*3 {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
