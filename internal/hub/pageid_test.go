package hub

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"tether/internal/hub/broker"
	"tether/internal/pagetag"
	"tether/internal/tethertest"
)

// dialTagged connects a device that offers page identity and checks the
// hub grants it.
func dialTagged(t *testing.T, url string, hdr http.Header) *tethertest.WS {
	t.Helper()
	c := tethertest.DialWS(t, url, tethertest.WSOptions{Header: hdr, Subprotocols: []string{"other", pagetag.Subprotocol}})
	if got := c.Conn.Subprotocol(); got != pagetag.Subprotocol {
		t.Fatalf("hub granted subprotocol %q, want %q", got, pagetag.Subprotocol)
	}
	return c
}

// tagOf returns the page id of a tagged message the device read.
func tagOf(t *testing.T, msg string) (id, rest string) {
	t.Helper()
	id, m, tagged, ok := pagetag.Split([]byte(msg))
	if !tagged || !ok || id == "" {
		t.Fatalf("device got %q, want a message tagged with a page", msg)
	}
	return id, string(m)
}

// A device that takes page identity gets each page's message tagged with
// a page id of its own; what it sends tagged reaches that page only (not
// kept in the shadow), what it sends untagged every page; when a page
// that spoke goes, the device is told, and only then.
func TestPageIdentity(t *testing.T) {
	h := startHub(t, Options{Name: "hub a"})
	dev := dialTagged(t, h.devURL+"dev1", nil)
	a := dial(t, h.pageURL+"dev1", nil)
	b := dial(t, h.pageURL+"dev1", nil)
	silent := dial(t, h.pageURL+"dev1", nil)
	for _, p := range []*tethertest.WS{a, b, silent} {
		p.Expect("online", hasKey("hub/device/connected", true))
	}
	a.Send(`["GET","config",[]]`)
	_, m := dev.Read()
	idA, req := tagOf(t, m)
	if req != `["GET","config",[]]` || !strings.HasPrefix(idA, "hub_a/") {
		t.Fatalf("device got %q from %q, want a's request from a page id of hub_a", req, idA)
	}
	b.Send(`["GET","sys",[]]`)
	_, m = dev.Read()
	if idB, _ := tagOf(t, m); idB == idA {
		t.Fatalf("a and b have the same page id %q", idA)
	}

	dev.Send(string(pagetag.Tag(idA, []byte(`{"config/file/app.json":"text","wifi/net/ip":"10.0.0.9"}`))))
	dev.Send(`{"note":"for all"}`)
	a.ExpectExact(`{"config/file/app.json":"text","wifi/net/ip":"10.0.0.9"}`)
	for _, p := range []*tethertest.WS{a, b, silent} {
		if _, m := p.Read(); m != `{"note":"for all"}` {
			t.Fatalf("page read %q, want the message for all (and never a's)", m)
		}
	}
	d := apiDevice(t, h, "dev1")
	if sh, _ := d["shadow"].(map[string]any); sh["note"] != "for all" || sh["wifi/net/ip"] != nil {
		t.Fatalf("shadow %v: want what went to every page, never a reply to one", sh)
	}
	if d["page_identity"] != true {
		t.Fatalf("/api/devices/dev1 says page_identity %v, want true", d["page_identity"])
	}

	a.Conn.Close(websocket.StatusNormalClosure, "")
	if _, m := dev.Read(); m != string(pagetag.Gone(idA)) {
		t.Fatalf("device read %q when a went, want %s", m, pagetag.Gone(idA))
	}
	// A reply crossing the news is answered with it again, and dropped.
	dev.Send(string(pagetag.Tag(idA, []byte(`{"late":1}`))))
	if _, m := dev.Read(); m != string(pagetag.Gone(idA)) {
		t.Fatalf("device read %q after a reply to a gone page, want %s", m, pagetag.Gone(idA))
	}
	silent.Conn.Close(websocket.StatusNormalClosure, "") // sent nothing: no news
	b.Conn.Close(websocket.StatusNormalClosure, "")
	if _, m := dev.Read(); !strings.Contains(m, "hub/page/gone") || strings.Contains(m, idA) {
		t.Fatalf("device read %q, want the news that b went (and nothing for the page that never spoke)", m)
	}
	if v := counterValue(t, h, `tether_hub_dropped_messages_total{reason="page_gone"}`); v != 1 {
		t.Errorf("page_gone drops = %v, want 1", v)
	}
}

// A device that does not offer page identity (the seed's firmware) gets
// the seed's wire: page messages untagged, no news of pages, and what it
// sends goes to every page byte for byte, whatever its first byte.
func TestNoPageIdentity(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	if sub := dev.Conn.Subprotocol(); sub != "" {
		t.Fatalf("hub granted %q to a device that offered nothing", sub)
	}
	a := dial(t, h.pageURL+"dev1", nil)
	b := dial(t, h.pageURL+"dev1", nil)
	for _, p := range []*tethertest.WS{a, b} {
		p.Expect("online", hasKey("hub/device/connected", true))
	}
	a.Send(`["GET","wifi",[]]`)
	if _, m := dev.Read(); m != `["GET","wifi",[]]` {
		t.Fatalf("device read %q, want the page's message as it was sent", m)
	}
	dev.Send("@x\nnot an address here")
	for _, p := range []*tethertest.WS{a, b} {
		p.ExpectExact("@x\nnot an address here")
	}
	a.Conn.Close(websocket.StatusNormalClosure, "")
	b.Send("after")
	if _, m := dev.Read(); m != "after" {
		t.Fatalf("device read %q, want b's next message (no news of a)", m)
	}
	if d := apiDevice(t, h, "dev1"); d["page_identity"] != nil {
		t.Fatalf("page_identity %v for a device without it", d["page_identity"])
	}
}

// A tagged message with a bad tag is dropped and counted; a message from
// the hub itself (a rollout's command) reaches the device with an empty
// tag; binary messages are tagged and untagged alike.
func TestPageIdentityBadTagAndBinary(t *testing.T) {
	h := startHub(t, Options{})
	dev := dialTagged(t, h.devURL+"dev1", nil)
	a := dial(t, h.pageURL+"dev1", nil)
	a.Expect("online", hasKey("hub/device/connected", true))
	a.SendBinary([]byte{1, 2})
	text, m := dev.Read()
	id, rest := tagOf(t, m)
	if text || rest != "" {
		t.Fatalf("device read text=%v %q, want the page's binary message tagged", text, m)
	}
	for _, bad := range []string{"@no newline", "@\nno page", "@two words\nx"} {
		dev.Send(bad)
	}
	dev.Conn.Write(context.Background(), websocket.MessageBinary, pagetag.Tag(id, []byte{3}))
	if text, m := a.Read(); text || m != "" {
		t.Fatalf("page read text=%v %q, want its binary reply without the tag (and none of the bad tags)", text, m)
	}
	if v := counterValue(t, h, `tether_hub_dropped_messages_total{reason="bad_page_tag"}`); v != 3 {
		t.Errorf("bad_page_tag drops = %v, want 3", v)
	}
	h.broker.ToDevice(broker.Message{Device: "dev1", Data: []byte(`["CMD","update",[]]`)})
	if _, m := dev.Read(); m != "@\n"+`["CMD","update",[]]` {
		t.Fatalf("device read %q for the hub's own message, want it with an empty tag", m)
	}
}

// Grants apply to each page's message before the hub tags it: a page that
// may only view cannot drive a device that takes page identity, one that
// may drive cannot send it admin items, and the device's answer to the
// driver reaches the driver alone. A page whose every message was refused
// never spoke to the device: it is not told when that page goes.
func TestPageIdentityKeepsGrants(t *testing.T) {
	h := grantsHub(t)
	dev := dialTagged(t, h.devURL+"Device_1", bearerHeader("d1"))
	driver := dial(t, h.pageURL+"Device_1", bearerHeader("drive-d1"))
	viewer := dial(t, h.pageURL+"Device_1", bearerHeader("viewer"))
	for _, p := range []*tethertest.WS{driver, viewer} {
		p.Expect("online", hasKey("hub/device/connected", true))
	}
	viewer.Send(`["CMD","start_interface",[]]`)
	if msg := viewer.Expect("refusal", hasKey("error", nil)); !strings.Contains(msg, "needs drive on Device_1") {
		t.Fatalf("viewer's CMD: %s, want a refusal", msg)
	}
	driver.Send(`["CMD","restart",[]]`)
	if msg := driver.Expect("refusal", hasKey("error", nil)); !strings.Contains(msg, "needs admin on Device_1") {
		t.Fatalf("driver's CMD restart: %s, want a refusal", msg)
	}
	driver.Send(`["GET","wifi",[]]`)
	_, m := dev.Read()
	id, req := tagOf(t, m)
	if req != `["GET","wifi",[]]` {
		t.Fatalf("device got %q, want the driver's GET wifi (and neither refused message)", m)
	}
	dev.Send(string(pagetag.Tag(id, []byte(`{"wifi/net/ip":"10.0.0.9"}`))))
	dev.Send(`{"temp":21}`)
	driver.ExpectExact(`{"wifi/net/ip":"10.0.0.9"}`)
	if _, m := viewer.Read(); m != `{"temp":21}` {
		t.Fatalf("viewer read %q, want the device's message to all (never the driver's answer)", m)
	}
	viewer.Conn.Close(websocket.StatusNormalClosure, "")
	driver.Conn.Close(websocket.StatusNormalClosure, "")
	if _, m := dev.Read(); m != string(pagetag.Gone(id)) {
		t.Fatalf("device read %q, want the news that the driver went (and none of the viewer)", m)
	}
}
