package host

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDefaultRoute feeds the /proc/net/route reader any table: it never
// panics, and a route it reports has a non-empty interface name and a
// gateway that is an IPv4 address.
func FuzzDefaultRoute(f *testing.F) {
	hdr := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	f.Add(hdr + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
	f.Add(hdr + "eth0\t00000000\tZZ\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
	f.Add(hdr + "eth0\t00000000\t0102A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n")
	f.Add(hdr + "wlan0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
	f.Add("")
	f.Add(hdr + strings.Repeat("x", 70000))
	path := filepath.Join(f.TempDir(), "route")
	f.Fuzz(func(t *testing.T, table string) {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
		ifname, gw, err := defaultRoute(path)
		if err != nil || ifname == "" && gw == "" {
			return
		}
		if ifname == "" {
			t.Fatalf("route with gateway %q and no interface", gw)
		}
		if a, perr := netip.ParseAddr(gw); perr != nil || !a.Is4() {
			t.Fatalf("gateway %q is not an IPv4 address", gw)
		}
	})
}

// FuzzHexIPv4 checks the route table's address decoding: 8 hex digits
// give an IPv4 address whose bytes are the input's reversed; anything
// else is an error.
func FuzzHexIPv4(f *testing.F) {
	for _, s := range []string{"0102A8C0", "00000000", "FFFFFFFF", "0102A8C", "0102A8C0FF", "zzzzzzzz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := hexIPv4(s)
		if err != nil {
			return
		}
		a, perr := netip.ParseAddr(ip)
		if perr != nil || !a.Is4() || len(s) != 8 {
			t.Fatalf("hexIPv4(%q) = %q", s, ip)
		}
		b := a.As4()
		back := strings.ToUpper(string([]byte{hexd(b[3] >> 4), hexd(b[3] & 15), hexd(b[2] >> 4), hexd(b[2] & 15),
			hexd(b[1] >> 4), hexd(b[1] & 15), hexd(b[0] >> 4), hexd(b[0] & 15)}))
		if back != strings.ToUpper(s) {
			t.Fatalf("hexIPv4(%q) = %q, which encodes back to %q", s, ip, back)
		}
	})
}

func hexd(n byte) byte { return "0123456789ABCDEF"[n] }

// FuzzNameservers checks the resolv.conf reader never panics and lists
// only words that followed "nameserver".
func FuzzNameservers(f *testing.F) {
	f.Add("nameserver 1.1.1.1\n# comment\nnameserver\tfe80::1%eth0\nsearch x\n")
	f.Add("nameserver")
	f.Add("\x00nameserver 1")
	path := filepath.Join(f.TempDir(), "resolv.conf")
	f.Fuzz(func(t *testing.T, conf string) {
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, ns := range nameservers(path) {
			if ns == "" || strings.ContainsAny(ns, " \t\r\n") || !strings.Contains(conf, ns) {
				t.Fatalf("nameservers(%q) lists %q", conf, ns)
			}
		}
	})
}
