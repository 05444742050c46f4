package hub

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOfflineRecordsAreBounded(t *testing.T) {
	const max = 1000
	h := New(Options{OfflineDevices: max})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range max + 5 {
		r := h.recordFor(fmt.Sprint("d", i))
		r.since = time.Unix(int64(i), 0) // d0 went first
	}
	if n := len(h.records); n > max+1 || n < max-max/10 {
		t.Errorf("%d records kept, want about %d", n, max)
	}
	if _, ok := h.records["d0"]; ok {
		t.Error("the oldest offline record was kept")
	}
	if _, ok := h.records[fmt.Sprint("d", max+4)]; !ok {
		t.Error("the newest record was dropped")
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
