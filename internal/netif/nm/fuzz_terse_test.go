package nm

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"tether/internal/netif"
)

// escapeTerse escapes a value as nmcli -t does: '\' and ':' get a '\'.
func escapeTerse(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}

// FuzzSplitTerse checks the terse splitter against nmcli's escaping: the
// fields of any line, escaped and joined again, split back into the same
// fields; and a value escaped alone comes back whole from unescape.
func FuzzSplitTerse(f *testing.F) {
	for _, s := range []string{"yes:Home:WPA2", `a\:b:c\\:d`, `trailing\`, ":::", "", `\\\:`, "é:ü", "\x00:\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fields := splitTerse(line)
		if len(fields) == 0 {
			t.Fatalf("splitTerse(%q) gave no fields", line)
		}
		esc := make([]string, len(fields))
		for i, v := range fields {
			esc[i] = escapeTerse(v)
		}
		if again := splitTerse(strings.Join(esc, ":")); !slices.Equal(again, fields) {
			t.Fatalf("splitTerse(%q) = %q; re-escaped it splits into %q", line, fields, again)
		}
		if got := unescape(escapeTerse(line)); got != line {
			t.Fatalf("unescape(escape(%q)) = %q", line, got)
		}
	})
}

// FuzzParseScan checks the scan parser two ways: on any output it never
// panics and lists each non-empty SSID once; on output written the way
// nmcli writes it (SSIDs from the input, escaped), every SSID without a
// line break comes back exactly, with its strongest signal. An SSID is
// chosen by whoever runs a nearby access point, so it is attacker input.
func FuzzParseScan(f *testing.F) {
	f.Add([]byte("Home:70:WPA2\nCafe:40:--\n:90:WPA2\nHome:80:WPA1\n"), "a:b", "c\\d", uint8(50))
	f.Add([]byte("x\r\n\n\n"), "yes", "", uint8(0))
	f.Add([]byte("a\\"), "\\", ":", uint8(255))
	f.Fuzz(func(t *testing.T, out []byte, ssid1, ssid2 string, sig uint8) {
		checkScan(t, parseScan(out))
		if strings.ContainsAny(ssid1+ssid2, "\r\n") {
			return // a line break in an SSID starts a new row (see docs/SECURITY.md)
		}
		var b strings.Builder
		want := map[string]int{}
		for i, s := range []string{ssid1, ssid2, ssid1} {
			fmt.Fprintf(&b, "%s:%d:WPA2\n", escapeTerse(s), int(sig)+i)
			if s != "" {
				want[s] = max(want[s], int(sig)+i)
			}
		}
		got := parseScan([]byte(b.String()))
		checkScan(t, got)
		for _, n := range got {
			if w, ok := want[n.SSID]; ok && n.Signal != w {
				t.Fatalf("%q: signal %d, want %d (from %q)", n.SSID, n.Signal, w, b.String())
			}
			delete(want, n.SSID)
		}
		if len(want) > 0 {
			t.Fatalf("parseScan(%q) lost %v", b.String(), want)
		}
	})
}

func checkScan(t *testing.T, nets []netif.Network) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range nets {
		if n.SSID == "" || seen[n.SSID] {
			t.Fatalf("scan lists empty or repeated SSID %q: %+v", n.SSID, nets)
		}
		seen[n.SSID] = true
	}
}

// FuzzParseShow checks the `nmcli -t device show` parser never panics and
// keeps every value of a repeated field in order.
func FuzzParseShow(f *testing.F) {
	f.Add([]byte("GENERAL.STATE:100 (connected)\nIP4.ADDRESS[1]:10.0.0.2/24\nIP4.DNS[1]:1.1.1.1\nIP4.DNS[2]:8.8.8.8\nGENERAL.HWADDR:AA\\:BB\n"), "9.9.9.9")
	f.Add([]byte("[:\n:\n[[[:x"), ":")
	f.Fuzz(func(t *testing.T, out []byte, dns string) {
		_ = parseShow(out)
		if strings.ContainsAny(dns, "\r\n") || dns == "" {
			return
		}
		show := parseShow([]byte("IP4.DNS[1]:" + escapeTerse(dns) + "\nIP4.DNS[2]:" + escapeTerse(dns+"x") + "\n"))
		if want := []string{dns, dns + "x"}; !slices.Equal(show["IP4.DNS"], want) {
			t.Fatalf("IP4.DNS = %q, want %q", show["IP4.DNS"], want)
		}
	})
}
