package hub

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/hub/hubws"
	"tether/internal/pagetag"
)

// dropped returns the hub's count of messages dropped for reason.
func dropped(h *Hub, reason string) float64 {
	mfs, _ := h.metrics.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "tether_hub_dropped_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// drained dials url and reads whatever comes until the test ends, so the
// hub never finds its queue full; it returns once ready says a message
// came that it waited for (nil: none).
func drained(tb testing.TB, url string, opts *websocket.DialOptions, ready func(string) bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	for ready != nil {
		_, b, err := ws.Read(ctx)
		if err != nil {
			tb.Fatalf("%s: %v", url, err)
		}
		if ready(string(b)) {
			break
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { ws.CloseNow(); <-done })
}

// FuzzDeviceTags: whatever a device that takes page identity sends, the
// hub's reading path (the untag, the shadow, the routing to one page or
// all of them, the news sent back for a page that went) never panics nor
// ends the device's connection; a message with a malformed tag, or a tag
// naming no page, is dropped and counted once, any other is never counted
// so. The device and a page of it are real connections to a real hub; the
// fuzzer's messages go in where the device's reader hands them over
// (deviceEvents.OnMessage).
func FuzzDeviceTags(f *testing.F) {
	h := startHub(f, Options{})
	drained(f, h.devURL+"dev1", &websocket.DialOptions{Subprotocols: []string{pagetag.Subprotocol}}, nil)
	drained(f, h.pageURL+"dev1", nil, func(m string) bool { return strings.Contains(m, `"hub/device/connected": true`) })
	h.mu.RLock()
	dev, page := h.devices["dev1"], h.pages["dev1"][0].pageID
	h.mu.RUnlock()
	if !dev.tagged {
		f.Fatal("the hub did not grant the device page identity")
	}
	for _, s := range []string{`{"k":1}`, "@", "@\n", "@\n{}", "@a b\n{}", "@x\n", "@@\n@", "\x00@\n",
		string(pagetag.Tag(page, []byte(`{"to":"one page"}`))), string(pagetag.Tag(h.pagePrefix+"999", []byte(`{"to":"a page gone"}`)))} {
		f.Add([]byte(s), false)
	}
	f.Add(pagetag.Tag(page, []byte{1, 2}), true)
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		kind := hubws.Text
		if binary {
			kind = hubws.Binary
		}
		id, _, tagged, ok := pagetag.Split(data)
		want := 0.0
		if tagged && (!ok || id == "") {
			want = 1
		}
		before := dropped(h.Hub, "bad_page_tag")
		deviceEvents{dev}.OnMessage(kind, bytes.Clone(data))
		if n := dropped(h.Hub, "bad_page_tag") - before; n != want {
			t.Fatalf("device message %q: bad_page_tag drops went up by %v, want %v", data, n, want)
		}
		if dev.isDead() {
			t.Fatalf("device message %q ended the device's connection", data)
		}
	})
}
