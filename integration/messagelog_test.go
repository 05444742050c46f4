package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// metric reads one series of the hub's /metrics (0 when absent).
func (h *hub) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := get(t, "http://"+h.page+"/metrics")
	m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " (\\S+)$").FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// logLines reads every line of the message log and its rotated files.
func logLines(t *testing.T, path string) (lines []map[string]any, raw string) {
	t.Helper()
	names, _ := filepath.Glob(path + "*")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		raw += string(b)
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: a line that is not JSON (cut in two?): %.100q", filepath.Base(n), sc.Text())
			}
			lines = append(lines, m)
		}
	}
	return lines, raw
}

// TestHubMessageLog: the real hub's --log-file masks secrets, writes control
// characters compactly, keeps writing after a full disk (here the process's
// file size limit, which fails writes as a full disk does) once writes work
// again, counting the lines it lost, and stays within --log-max-size per
// file and --log-max-total in all.
func TestHubMessageLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messages.log")
	h := startHub(t, 0, "--log-file", path, "--log-max-size", "20000", "--log-max-total", "60000")
	d := dialRaw(t, h.dev, "/logged")
	p := dialRaw(t, h.page, "/logged")
	p.waitText(`"hub/device/connected": true`, 10*time.Second)
	fromDevice := func(n int, text string) {
		for i := range n {
			d.sendText(fmt.Sprintf(`{"n": %d, "t": %q}`, i, text))
		}
		for i := range n { // relayed, so logged
			p.waitText(fmt.Sprintf(`{"n": %d,`, i), 10*time.Second)
		}
	}
	d.sendText(`{"wifi/sta/pass": "hunter2", "home/token": "tok-1234"}`)
	p.sendText(`["CMD", "store_new_sta", ["home", "hunter2"]]`)
	d.readText(10 * time.Second)
	fromDevice(1, strings.Repeat("\x01", 900))
	time.Sleep(1500 * time.Millisecond) // flushed every second

	pid := h.proc.Cmd.Process.Pid
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, nil, &old); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	fi, _ := os.Stat(path)
	full := unix.Rlimit{Cur: uint64(fi.Size()) + 4096, Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &full, nil); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	fromDevice(100, strings.Repeat("b", 150)) // 4 KiB of room for ~20 KB of lines
	time.Sleep(1500 * time.Millisecond)
	lost := h.metric(t, "tether_hub_message_log_lost_lines_total")
	if lost == 0 {
		t.Fatalf("no lost line counted while the log's writes failed")
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &old, nil); err != nil {
		t.Fatal(err)
	}
	fromDevice(5, "after the disk had room again")
	time.Sleep(1500 * time.Millisecond)
	lines, raw := logLines(t, path)
	if n := strings.Count(raw, "after the disk had room again"); n != 5 {
		t.Errorf("%d of the 5 lines sent once the disk had room again are in the log, want 5", n)
	}
	for _, secret := range []string{"hunter2", "tok-1234"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the secret %q is in the message log", secret)
		}
	}
	for _, ln := range lines {
		if s, _ := ln["text_base64"].(string); s != "" && len(s) > 1400 {
			t.Errorf("900 control characters logged in %d bytes of base64, want about 1,300", len(s))
		}
	}
	fromDevice(300, strings.Repeat("c", 150)) // ~75 KB: rotations, and the total cap
	time.Sleep(1500 * time.Millisecond)
	if got := h.metric(t, "tether_hub_message_log_lost_lines_total"); got != lost {
		t.Errorf("lost lines %v after writes worked again, want still %v", got, lost)
	}
	lines, _ = logLines(t, path)
	names, _ := filepath.Glob(path + "*")
	var total int64
	for _, n := range names {
		fi, _ := os.Stat(n)
		total += fi.Size()
		if fi.Size() > 20000 {
			t.Errorf("%s: %d bytes, over --log-max-size 20000", filepath.Base(n), fi.Size())
		}
	}
	if total > 60000 || len(names) < 3 {
		t.Errorf("%d files of %d bytes in all, want rotated files within --log-max-total 60000", len(names), total)
	}
	t.Logf("%d lines lost while full; %d lines in %d files, %d bytes", int(lost), len(lines), len(names), total)
	h.alive(t)
}
