package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/relaylog"
)

func TestRecordMasksCutsAndFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(relaylog.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Record(Entry{Who: "alice", Device: "d1", Action: "CMD store_new_sta", Allowed: true,
		Request: `["CMD", "store_new_sta", ["home", "wifi-secret"]]`})
	l.Record(Entry{Who: "alice", Device: "d1", Action: "CMD send_message", Request: `["CMD", "send_message", ["` + strings.Repeat("é", MaxRequest) + `"]]`})
	b, err := os.ReadFile(path) // no Close or Flush: each line is on disk already
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || strings.Contains(string(b), "wifi-secret") {
		t.Fatalf("audit log:\n%s", b)
	}
	var first, second Entry
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if !first.Masked || first.Time.IsZero() || time.Since(first.Time) > time.Minute {
		t.Errorf("first entry %+v: want masked, timed now", first)
	}
	if !second.Cut || len(second.Request) > MaxRequest || !strings.HasSuffix(second.Request, "é") {
		t.Errorf("second entry: cut %v, %d bytes, want cut at %d on a character", second.Cut, len(second.Request), MaxRequest)
	}
	var none *Log
	none.Record(Entry{Action: "nothing"}) // a nil log records nothing
	if none.Lost() != 0 || none.Close() != nil {
		t.Error("a nil log is not inert")
	}
}
