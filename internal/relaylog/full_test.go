//go:build linux

package relaylog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestResumesAfterAFullDisk fills the log's file up to the process's file
// size limit (what a full disk looks like to a writer: writes fail), then
// lifts the limit: the lines written meanwhile are counted as lost, the
// log writes again without a restart, and the file holds only whole lines.
func TestResumesAfterAFullDisk(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	path := filepath.Join(t.TempDir(), "m.log")
	l, err := Open(Options{Path: path, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	write := func(n int, word string) {
		for i := 0; i < n; i++ {
			l.Write(Entry{Time: time.Now(), Dir: DeviceToPages, Device: "d", Data: []byte(strings.Repeat(word, 50))})
		}
		l.Flush()
	}
	write(10, "a")
	lim := syscall.Rlimit{Cur: 4096, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	write(100, "b") // the file reaches 4 KiB: writes fail
	full := l.Lost()
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if full == 0 {
		t.Fatal("no line counted as lost while writes failed")
	}
	write(5, "c")
	if l.Lost() != full {
		t.Errorf("lost %d lines after writes work again, want still %d", l.Lost(), full)
	}
	b, _ := os.ReadFile(path)
	lines := readLines(t, path) // fails on a line cut in two
	if n := bytes.Count(b, []byte(`"text":"cccc`)); n != 5 {
		t.Errorf("%d of the 5 lines written after the disk had room again are in the file, want 5", n)
	}
	if got := 10 + 100 - int(full) + 5; len(lines) != got {
		t.Errorf("%d lines in the file, want %d (115 written, %d lost)", len(lines), got, full)
	}
}
