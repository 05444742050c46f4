package hub

import (
	"net/http"
	"testing"

	"tether/internal/tethertest"
)

func TestPerAddressConnectionLimits(t *testing.T) {
	h := startHub(t, Options{DeviceConnsPerAddr: 3, PageConnsPerAddr: 2})
	var devs []*tethertest.WS
	for _, id := range []string{"d1", "d2", "d3"} {
		devs = append(devs, dial(t, h.devURL+id, nil))
	}
	if code := dialStatus(t, h.devURL+"d4", nil); code != http.StatusTooManyRequests {
		t.Fatalf("a 4th device from one address: %d, want 429", code)
	}
	p1 := dial(t, h.pageURL+"d1", nil)
	dial(t, h.pageURL+"d1", nil)
	if code := dialStatus(t, h.pageURL+"d2", nil); code != http.StatusTooManyRequests {
		t.Fatalf("a 3rd page from one address: %d, want 429", code)
	}
	if n := counterValue(t, h, `tether_hub_address_limit_refusals_total{endpoint="device"}`); n != 1 {
		t.Errorf("device refusals counted %v, want 1", n)
	}
	// A connection that ends gives its place back, also a refused one
	// (bad credentials) and one replaced by a newer connection of its id.
	devs[0].Conn.CloseNow()
	waitFor(t, "d1 gone", func() bool { return len(h.broker.Devices()) == 2 })
	dial(t, h.devURL+"d4", nil)
	p1.Conn.CloseNow()
	waitFor(t, "the page gone", func() bool { return len(h.pagesOf("d1")) == 1 })
	dial(t, h.pageURL+"d2", nil)
	devs[1].Conn.CloseNow()
	waitFor(t, "d2 gone", func() bool { return counted(h.devLimit) == 2 })
	dial(t, h.devURL+"d3", nil) // replaces d3: the old one gives back its place
	waitFor(t, "the replaced d3 gone", func() bool { return counted(h.devLimit) == 2 })
}

// counted is how many connections lim counts from 127.0.0.1.
func counted(lim *connLimit) int {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	return lim.n["127.0.0.1"]
}

func TestRefusedUpgradesGiveTheirPlaceBack(t *testing.T) {
	a, _ := ParseAuth([]byte(`{"devices": {"d1": {"token": "t"}}, "pages": [{"token": "p"}]}`), "auth.json")
	h := startHub(t, Options{Auth: a, DeviceConnsPerAddr: 2, PageConnsPerAddr: 2})
	for range 5 {
		if code := dialStatus(t, h.devURL+"d1", bearerHeader("wrong")); code != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %d, want 401 (refused upgrades keep no place)", code)
		}
		waitFor(t, "the refused upgrade's place back", func() bool { return counted(h.devLimit) == 0 })
	}
	dial(t, h.devURL+"d1", bearerHeader("t"))
}
