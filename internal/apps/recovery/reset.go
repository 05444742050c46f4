package recovery

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"tether/internal/login"
)

// Physical access wins: someone on the device's own access point, while
// the device is in recovery, may set a new device password without the
// old one (package devauth's reset). Reaching the access point takes its
// WiFi password and being within radio range of the device; the risk is
// written down in docs/SECURITY.md.

// onAP reports whether r comes from the device's own access point: the
// access point is up and the client's address is in its subnet (the
// prefix of the interface holding the access point's address, or its /24
// when no interface here holds it, as with the sim backend).
func (s *server) onAP(r *http.Request) bool {
	if s.env.Net == nil {
		return false
	}
	client, err := netip.ParseAddr(login.ClientAddr(r.RemoteAddr))
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ap, err := s.env.Net.AP(ctx)
	if err != nil || !ap.Active {
		return false
	}
	ip, err := netip.ParseAddr(ap.IP)
	if err != nil {
		return false
	}
	return apPrefix(ip).Contains(client.Unmap())
}

// apPrefix is the subnet of the access point at ip.
func apPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if addr, ok := netip.AddrFromSlice(n.IP); ok && addr.Unmap() == ip {
				ones, _ := n.Mask.Size()
				return netip.PrefixFrom(ip, ones).Masked()
			}
		}
	}
	bits := 24
	if ip.Is6() {
		bits = 64
	}
	return netip.PrefixFrom(ip, bits).Masked()
}
