// Package host is the network backend for a device whose network the host
// already runs (a desktop, a server, a container): it reports the main
// interface, the one holding the default route, with its IPv4 address, MAC,
// gateway and DNS servers, and refuses every WiFi change with an error
// wrapping netif.ErrNotSupported ("join: not supported by the host
// backend").
//
// It is passive: a netif.Manager on it reports mode "station" and never
// tries an access point. A device selects it with "net": "host" in
// network.json or --net host, and it is the default when neither is set.
package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"tether/internal/netif"
)

// Options configures a Host. The zero value reads the real system files.
type Options struct {
	// RouteFile is the kernel's IPv4 routing table; "" means
	// /proc/net/route.
	RouteFile string
	// ResolvConf lists the DNS servers; "" means /etc/resolv.conf.
	ResolvConf string
}

// Host reports the host's network. It is safe for concurrent use.
type Host struct {
	routes  string
	resolvs string
}

var (
	_ netif.Backend = (*Host)(nil)
	_ netif.Passive = (*Host)(nil)
)

// New returns a Host reading the files opts names.
func New(opts Options) *Host {
	h := &Host{routes: opts.RouteFile, resolvs: opts.ResolvConf}
	if h.routes == "" {
		h.routes = "/proc/net/route"
	}
	if h.resolvs == "" {
		h.resolvs = "/etc/resolv.conf"
	}
	return h
}

// Name returns "host".
func (h *Host) Name() string { return "host" }

// Passive returns true: the host runs its own network.
func (h *Host) Passive() bool { return true }

func unsupported(op string) error { return &netif.NotSupportedError{Op: op, Backend: "host"} }

// Scan is not supported.
func (h *Host) Scan(ctx context.Context) ([]netif.Network, error) { return nil, unsupported("scan") }

// Join is not supported.
func (h *Host) Join(ctx context.Context, ssid, pass string) error { return unsupported("join") }

// Leave is not supported.
func (h *Host) Leave(ctx context.Context) error { return unsupported("leave") }

// APUp is not supported.
func (h *Host) APUp(ctx context.Context, cfg netif.APConfig) error {
	return unsupported("access point up")
}

// APDown is not supported.
func (h *Host) APDown(ctx context.Context) error { return unsupported("access point down") }

// APStatus reports an inactive access point: the host hosts none.
func (h *Host) APStatus(ctx context.Context) (netif.APStatus, error) { return netif.APStatus{}, nil }

// StationStatus reports the interface of the default route. With no
// default route it reports not connected, without an error.
func (h *Host) StationStatus(ctx context.Context) (netif.StationStatus, error) {
	ifname, gw, err := defaultRoute(h.routes)
	if err != nil {
		return netif.StationStatus{}, fmt.Errorf("station status: %w", err)
	}
	st := netif.StationStatus{DNS: nameservers(h.resolvs)}
	if ifname == "" {
		return st, nil
	}
	st.Interface, st.Gateway = ifname, gw
	st.Active, st.Connected = true, true
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return st, fmt.Errorf("station status: interface %q: %w", ifname, err)
	}
	st.Active = ifc.Flags&net.FlagUp != 0
	st.MAC = ifc.HardwareAddr.String()
	st.IP = firstIPv4(ifc)
	return st, nil
}

// defaultRoute finds the interface and gateway of the first usable default
// route in a /proc/net/route table; "" when there is none.
func defaultRoute(path string) (ifname, gateway string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // header: Iface Destination Gateway Flags ...
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue // not a default route (destination and mask 0)
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&0x1 == 0 { // RTF_UP
			continue
		}
		gw, err := hexIPv4(f[2])
		if err != nil {
			return "", "", fmt.Errorf("%s: gateway %q: %w", path, f[2], err)
		}
		return f[0], gw, nil
	}
	return "", "", sc.Err()
}

// hexIPv4 decodes the route table's little-endian hex address.
func hexIPv4(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return "", errors.New("want 8 hex digits")
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a).String(), nil
}

func firstIPv4(ifc *net.Interface) string {
	addrs, err := ifc.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// nameservers lists resolv.conf's servers; none when it cannot be read.
func nameservers(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}
