package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hubCounts reads the hub's /api/hub.
func (h *hub) counts(t testing.TB) (devices, pages int) {
	t.Helper()
	code, body := get(t, "http://"+h.page+"/api/hub")
	var info struct {
		Devices int `json:"devices_online"`
		Pages   int `json:"pages"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil {
		t.Fatalf("/api/hub: %d %q", code, body)
	}
	return info.Devices, info.Pages
}

// rss is a process's resident memory in bytes (VmRSS).
func rss(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestHubDeadPeers drops devices and pages in the ways a network does:
// closed without a close frame (noticed at once), or gone silent behind a
// cut link (noticed by the hub's keepalive, --ping 1s: three silent
// intervals). A page of the device must be told it went offline, and a
// healthy pair must keep relaying.
func TestHubDeadPeers(t *testing.T) {
	const ping = time.Second
	h := startHub(t, 0, "--ping", ping.String())
	px := startProxy(t, h.dev)
	pxPage := startProxy(t, h.page)
	cases := []struct {
		name  string
		role  string // which side dies
		kill  func(c *rawConn, p *proxy)
		bound time.Duration
	}{
		{"device closes TCP without a close frame", "device", func(c *rawConn, _ *proxy) { c.c.Close() }, 5 * time.Second},
		{"device link cut", "device", func(_ *rawConn, p *proxy) { p.cut() }, 4*ping + 2*time.Second},
		{"page closes TCP without a close frame", "page", func(c *rawConn, _ *proxy) { c.c.Close() }, 5 * time.Second},
		{"page link cut", "page", func(_ *rawConn, p *proxy) { p.cut() }, 4*ping + 2*time.Second},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("dead-%d", i)
			devAddr, pageAddr := h.dev, h.page
			if c.role == "device" {
				devAddr = px.addr()
			} else {
				pageAddr = pxPage.addr()
			}
			d := dialRaw(t, devAddr, "/"+id)
			p := dialRaw(t, pageAddr, "/"+id)
			p.waitText(`"hub/device/connected": true`, 10*time.Second)
			_, pages0 := h.counts(t)
			start := time.Now()
			if c.role == "device" {
				c.kill(d, px)
				p.waitText(`"hub/device/connected":false`, c.bound+5*time.Second)
			} else {
				c.kill(p, pxPage)
				for _, pages := h.counts(t); pages >= pages0; _, pages = h.counts(t) {
					if time.Since(start) > c.bound+5*time.Second {
						t.Fatalf("page still counted after %v", time.Since(start))
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			took := time.Since(start)
			t.Logf("%s noticed after %v (ping %v)", c.role, took.Round(time.Millisecond), ping)
			if took > c.bound {
				t.Errorf("noticed after %v, want within %v", took, c.bound)
			}
			h.alive(t)
		})
	}
}

// TestHubStalledPeers: a page that stops reading while its device sends
// 20 MB, and a device that stops reading while its page sends 20 MB. The
// other page of the same device gets every message; another pair keeps
// relaying; the hub's memory stays bounded by its per-connection queues.
//
// The hub is a build without the race detector here, whose memory
// overhead (several times the heap) would hide what the queues bound.
func TestHubStalledPeers(t *testing.T) {
	h := startHubBin(t, plainBinary(t), 0)
	base := rss(t, h.proc.Cmd.Process.Pid)
	msg := strings.Repeat("m", 60<<10)
	const count = 340 // ~20 MB, over the 16 MiB queue bound

	t.Run("page stops reading", func(t *testing.T) {
		d := dialRaw(t, h.dev, "/stall-page")
		_ = dialRaw(t, h.page, "/stall-page") // never read
		healthy := dialRaw(t, h.page, "/stall-page")
		healthy.waitText(`"hub/device/connected": true`, 10*time.Second)
		done := make(chan int)
		go func() {
			got := 0
			for got < count {
				op, _, err := healthy.readFrame(30 * time.Second)
				if err != nil {
					break
				}
				if op == opText {
					got++
				}
			}
			done <- got
		}()
		for i := range count {
			d.sendText(fmt.Sprintf("%04d", i) + msg)
		}
		if got := <-done; got < count {
			t.Fatalf("healthy page got %d of %d messages beside a stalled one", got, count)
		}
		// The stalled page is dropped once its queue overflows (1008) or a
		// write to it has waited 10 s; its close frame cannot reach a
		// reader that does not read, so watch the hub's page count.
		start := time.Now()
		for _, pages := h.counts(t); pages > 1; _, pages = h.counts(t) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("stalled page still held after %v (%d pages)", time.Since(start), pages)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("stalled page dropped %v after the last message", time.Since(start).Round(time.Millisecond))
		h.alive(t)
	})
	t.Run("device stops reading", func(t *testing.T) {
		_ = dialRaw(t, h.dev, "/stall-dev")
		p := dialRaw(t, h.page, "/stall-dev")
		p.waitText(`"hub/device/connected": true`, 10*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		answered := make(chan string, 1)
		go func() {
			for ctx.Err() == nil {
				op, b, err := p.readFrame(30 * time.Second)
				if err != nil {
					answered <- "read: " + err.Error()
					return
				}
				if m := string(b); op == opText && (strings.Contains(m, "busy") || strings.Contains(m, `"hub/device/connected":false`)) {
					answered <- m
					return
				}
			}
		}()
		for i := 0; i < count && ctx.Err() == nil; i++ {
			p.sendText(msg)
			select {
			case m := <-answered:
				t.Logf("after %d messages to a device that stopped reading, its page got %.90q", i+1, m)
				h.alive(t)
				return
			default:
			}
		}
		select {
		case m := <-answered:
			t.Logf("its page got %.90q", m)
		case <-ctx.Done():
			t.Fatal("page was never told its device is busy or gone")
		}
		h.alive(t)
	})
	grown := rss(t, h.proc.Cmd.Process.Pid) - base
	t.Logf("hub RSS grew %d MiB through 40 MB sent at stalled peers", grown>>20)
	if grown > 128<<20 { // two 16 MiB queues, their messages, buffers and GC headroom
		t.Errorf("hub RSS grew %d MiB, want bounded by the per-connection queues", grown>>20)
	}
}
