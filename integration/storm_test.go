package integration

import (
	"testing"
	"time"
)

// TestHubReplacementStorm: many pages of one id, then that id connecting
// again and again (each connection replaces the one before, and every
// replacement is presence for every page: pages × connections messages).
// The hub must come through it and serve others afterwards. The hub is a
// build without the race detector, which would multiply the time 5-10×.
func TestHubReplacementStorm(t *testing.T) {
	pages, devices := 2000, 2000
	if testing.Short() {
		pages, devices = 500, 500
	}
	h := startHubBin(t, plainBinary(t), 0, "--page-conns-per-addr", "0") // every page comes from 127.0.0.1
	manyConns(t, pages, h.page, "/storm")
	start := time.Now()
	manyConns(t, devices, h.dev, "/storm")
	t.Logf("%d replacing connections beside %d pages in %v", devices, pages, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	h.alive(t)
	t.Logf("a fresh device and page relayed %v after the storm", time.Since(start).Round(time.Millisecond))
}
