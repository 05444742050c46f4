package nm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"tether/internal/netif"
)

// NetworkManager's device states (GENERAL.STATE's number).
const (
	stateDisconnected = 30
	stateActivated    = 100
)

// showFields are what StationStatus reads from `nmcli device show`.
const showFields = "GENERAL.STATE,GENERAL.CONNECTION,GENERAL.HWADDR,IP4.ADDRESS,IP4.GATEWAY,IP4.DNS"

// StationStatus reports the WiFi device. It is connected when activated
// on a connection other than the hotspot; the SSID and signal come from the
// active entry of the (not rescanned) network list.
func (n *NM) StationStatus(ctx context.Context) (netif.StationStatus, error) {
	dev, err := n.device(ctx)
	if err != nil {
		return netif.StationStatus{}, fmt.Errorf("station status: %w", err)
	}
	out, err := n.run(ctx, "-t", "-f", showFields, "device", "show", dev)
	if err != nil {
		return netif.StationStatus{}, fmt.Errorf("station status: %w", err)
	}
	show := parseShow(out)
	st := netif.StationStatus{Interface: dev, MAC: first(show["GENERAL.HWADDR"])}
	code := stateCode(first(show["GENERAL.STATE"]))
	st.Active = code >= stateDisconnected
	if code != stateActivated || first(show["GENERAL.CONNECTION"]) == n.hotspot {
		return st, nil
	}
	st.Connected = true
	st.IP, _, _ = strings.Cut(first(show["IP4.ADDRESS"]), "/")
	st.Gateway = first(show["IP4.GATEWAY"])
	st.DNS = show["IP4.DNS"]
	out, err = n.run(ctx, "-t", "-f", "ACTIVE,SIGNAL,SSID", "device", "wifi", "list", "--rescan", "no", "ifname", dev)
	if err != nil {
		return st, fmt.Errorf("station status: %w", err)
	}
	for _, f := range terseRows(out) {
		if len(f) >= 3 && f[0] == "yes" {
			st.Signal, _ = strconv.Atoi(f[1])
			st.SSID = f[2]
			break
		}
	}
	return st, nil
}

// stateCode reads "100 (connected)" as 100; 0 when it is not a number.
func stateCode(s string) int {
	num, _, _ := strings.Cut(s, " ")
	c, _ := strconv.Atoi(num)
	return c
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// hotspotActive reports whether the hotspot connection is active.
func (n *NM) hotspotActive(ctx context.Context) (bool, error) {
	out, err := n.run(ctx, "-t", "-f", "NAME,DEVICE", "connection", "show", "--active")
	if err != nil {
		return false, err
	}
	for _, f := range terseRows(out) {
		if len(f) >= 1 && f[0] == n.hotspot {
			return true, nil
		}
	}
	return false, nil
}

// APStatus reports the hotspot: whether its connection is active, and
// then its SSID, address and the device's MAC.
func (n *NM) APStatus(ctx context.Context) (netif.APStatus, error) {
	active, err := n.hotspotActive(ctx)
	if err != nil || !active {
		return netif.APStatus{}, wrapStatus(err)
	}
	out, err := n.run(ctx, "-t", "-f", "802-11-wireless.ssid,IP4.ADDRESS", "connection", "show", n.hotspot)
	if err != nil {
		return netif.APStatus{}, wrapStatus(err)
	}
	show := parseShow(out)
	st := netif.APStatus{Active: true, SSID: first(show["802-11-wireless.ssid"])}
	st.IP, _, _ = strings.Cut(first(show["IP4.ADDRESS"]), "/")
	st.MAC, err = n.mac(ctx)
	return st, wrapStatus(err)
}

func wrapStatus(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("access point status: %w", err)
}

// mac returns the WiFi device's MAC, asking nmcli once.
func (n *NM) mac(ctx context.Context) (string, error) {
	n.mu.Lock()
	hw := n.hwaddr
	n.mu.Unlock()
	if hw != "" {
		return hw, nil
	}
	dev, err := n.device(ctx)
	if err != nil {
		return "", err
	}
	out, err := n.run(ctx, "-t", "-f", "GENERAL.HWADDR", "device", "show", dev)
	if err != nil {
		return "", err
	}
	hw = first(parseShow(out)["GENERAL.HWADDR"])
	n.mu.Lock()
	n.hwaddr = hw
	n.mu.Unlock()
	return hw, nil
}
