package hub

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"tether/internal/hub/broker"
	"tether/internal/hub/broker/mem"
	"tether/internal/hub/hubws"
)

// boomUpgrader is the real WebSocket layer with panics planted in it: a
// message "boom-read" panics in the layer's reading code (outside the hub's
// handlers), a write of "boom-write" panics in its writing code.
type boomUpgrader struct{ hubws.Upgrader }

func (u boomUpgrader) Upgrade(w http.ResponseWriter, r *http.Request, h hubws.Handler) (hubws.Conn, error) {
	c, err := u.Upgrader.Upgrade(w, r, boomHandler{h})
	if err != nil {
		return nil, err
	}
	return boomConn{c}, nil
}

type boomHandler struct{ hubws.Handler }

func (b boomHandler) OnMessage(kind hubws.Kind, p []byte) {
	if string(p) == "boom-read" {
		panic("planted panic in the reader")
	}
	b.Handler.OnMessage(kind, p)
}

type boomConn struct{ hubws.Conn }

func (c boomConn) Write(kind hubws.Kind, p []byte) error {
	if string(p) == "boom-write" {
		panic("planted panic in the writer")
	}
	return c.Conn.Write(kind, p)
}

// boomBroker panics in the hub's handling of a device message "boom-message".
type boomBroker struct{ *mem.Broker }

func (b boomBroker) ToPages(m broker.Message) error {
	if bytes.Equal(m.Data, []byte("boom-message")) {
		panic("planted panic in a handler")
	}
	return b.Broker.ToPages(m)
}

// TestPanicClosesOnlyItsConnection plants a panic in each place the code
// serving one connection runs (its reader, its writer, the handling of a
// message): that connection is closed with 1011, its page is told, the
// panic is counted, and every other connection goes on.
func TestPanicClosesOnlyItsConnection(t *testing.T) {
	h := startHub(t, Options{
		Upgrader: boomUpgrader{hubws.NewUpgrader(hubws.Options{})},
		Broker:   boomBroker{mem.New()},
	})
	other := dial(t, h.devURL+"other", nil)
	otherPage := dial(t, h.pageURL+"other", nil)
	otherPage.Expect("online", hasKey("hub/device/connected", true))
	tests := []struct {
		where      string
		fromDevice bool
		msg        string
	}{
		{"read", true, "boom-read"},
		{"message", true, "boom-message"},
		{"write", false, "boom-write"}, // the page's message, written to the device
	}
	for i, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			dev := dial(t, h.devURL+"dev1", nil)
			page := dial(t, h.pageURL+"dev1", nil)
			page.Expect("online", hasKey("hub/device/connected", true))
			if tt.fromDevice {
				dev.Send(tt.msg)
			} else {
				page.Send(tt.msg)
			}
			if code, reason := dev.CloseStatus(); code != hubws.CodeInternalError || reason != reasonInternal {
				t.Errorf("device closed with %d %q, want 1011 %q", code, reason, reasonInternal)
			}
			got := page.Expect("offline", hasKey("hub/device/connected", false))
			if !strings.Contains(got, reasonInternal) {
				t.Errorf("page told %s, want the reason %q", got, reasonInternal)
			}
			if n := counterValue(t, h, `tether_hub_panics_total{where="`+tt.where+`"}`); n != 1 {
				t.Errorf("tether_hub_panics_total{where=%q} = %v, want 1", tt.where, n)
			}
			if n := len(h.broker.Devices()); n != 1 {
				t.Errorf("%d devices online after the panic, want 1 (other)", n)
			}
			msg := `{"n": ` + string(rune('0'+i)) + `}`
			other.Send(msg)
			otherPage.ExpectExact(msg)
			otherPage.Send(msg)
			other.ExpectExact(msg)
		})
	}
}
