package relaylog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for rotation tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLinesHoldEveryField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messages.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 5, time.UTC)
	entries := []Entry{
		{Time: at, Dir: PageToDevice, Device: "dev1", Data: []byte(`["CMD", "send_message", ["hi"]]`)},
		{Time: at, Dir: DeviceToPages, Device: "dev1", Binary: true, Data: []byte{0, 1, 2}},
		{Time: at, Dir: DeviceToPages, Device: "dev1", Data: []byte("not utf-8 \xff")},
		{Time: at, Dir: DeviceToPages, Device: "dev1", Page: "hub/1f/2", Data: []byte(`{"info":"to one page"}`)},
	}
	for _, e := range entries {
		if err := l.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, path)
	want := []map[string]any{
		{"time": "2026-11-24T10:00:00.000000005Z", "dir": "page>device", "device": "dev1", "text": `["CMD", "send_message", ["hi"]]`},
		{"time": "2026-11-24T10:00:00.000000005Z", "dir": "device>pages", "device": "dev1", "binary": "AAEC"},
		{"time": "2026-11-24T10:00:00.000000005Z", "dir": "device>pages", "device": "dev1", "binary": "bm90IHV0Zi04IP8="},
		{"dir": "device>pages", "page": "hub/1f/2", "text": `{"info":"to one page"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("line %d %s: got %v, want %v", i, k, got[i][k], v)
			}
		}
	}
}

func TestRotatesDailyAndPrunes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "messages.log")
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.Local) }
	clk := &clock{t: day(20)}
	// a rotated file older than the retention, left from an earlier run
	if err := os.WriteFile(path+".2026-11-01", []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Options{Path: path, Retention: 72 * time.Hour, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, d := range []int{20, 20, 21, 24} {
		clk.set(day(d))
		if err := l.Write(Entry{Time: day(d), Dir: PageToDevice, Device: "d", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	l.Flush()
	names, _ := filepath.Glob(path + "*")
	sort.Strings(names)
	var got []string
	for _, n := range names {
		got = append(got, filepath.Base(n))
	}
	// the 20th is older than 72 h on the 24th: pruned; the 21st is kept
	want := []string{"messages.log", "messages.log.2026-11-21"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files: got %v, want %v", got, want)
	}
	if n := len(readLines(t, path)); n != 1 {
		t.Errorf("current file: %d lines, want 1", n)
	}
}

func TestRotatesEveryDayKeptWithoutRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 3; d++ {
		at := time.Date(2030, 1, d, 0, 0, 1, 0, time.Local)
		l.Write(Entry{Time: at, Dir: DeviceToPages, Device: "d", Data: []byte("{}")})
	}
	l.Close()
	names, _ := filepath.Glob(path + "*")
	if len(names) != 3 {
		t.Errorf("files: got %v, want m.log and two rotated days", names)
	}
}

func TestRotatesBySizeAndCapsTheTotal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.log")
	day := time.Date(2030, 1, 2, 12, 0, 0, 0, time.Local)
	l, err := Open(Options{Path: path, MaxSize: 1000, MaxTotal: 3500, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 { // about 11,000 bytes in lines of about 280
		data := fmt.Sprintf("%03d%s", i, strings.Repeat("x", 200))
		if err := l.Write(Entry{Time: day, Dir: DeviceToPages, Device: "d", Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	rotated, _ := filepath.Glob(path + ".*")
	sort.Slice(rotated, func(i, j int) bool {
		return len(rotated[i]) < len(rotated[j]) || len(rotated[i]) == len(rotated[j]) && rotated[i] < rotated[j]
	})
	var total int64
	var kept []int
	for _, n := range append(rotated, path) {
		fi, _ := os.Stat(n)
		if fi.Size() > 1000 {
			t.Errorf("%s: %d bytes, over MaxSize 1000", filepath.Base(n), fi.Size())
		}
		total += fi.Size()
		for _, ln := range readLines(t, n) {
			i, _ := strconv.Atoi(ln["text"].(string)[:3])
			kept = append(kept, i)
		}
	}
	if total > 3500 {
		t.Errorf("files hold %d bytes, over MaxTotal 3500", total)
	}
	for k, i := range kept {
		if want := 40 - len(kept) + k; i != want {
			t.Fatalf("the files hold lines %v, want the newest in order, ending with 39", kept)
		}
	}
	if len(kept) < 6 { // rotated files may hold 2,500 bytes beside a current file that can grow to 1,000
		t.Errorf("only %d lines kept, want the newest 3,500 bytes' worth", len(kept))
	}
}

func TestControlCharactersAreLoggedCompactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("\x01", 3000))
	l.Write(Entry{Time: time.Now(), Dir: DeviceToPages, Device: "d", Data: data})
	l.Close()
	fi, _ := os.Stat(path)
	if fi.Size() > 4200 {
		t.Errorf("3,000 control characters made a %d-byte line, want at most 4/3 of them plus the fields", fi.Size())
	}
	if got := readLines(t, path)[0]["text_base64"]; got == nil {
		t.Errorf("want the payload under text_base64")
	}
}

func TestSecretsAreMasked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Entry{Time: time.Now(), Dir: PageToDevice, Device: "d", Data: []byte(`["CMD", "store_new_sta", ["home", "hunter2"]]`)})
	l.Write(Entry{Time: time.Now(), Dir: DeviceToPages, Device: "d", Data: []byte(`{"home/token": "tok-123", "x": 1}`)})
	l.Close()
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "tok-123") {
		t.Errorf("a secret reached the message log:\n%s", b)
	}
	for _, ln := range readLines(t, path) {
		if ln["masked"] != true {
			t.Errorf("line %v: want masked: true", ln)
		}
	}
}
