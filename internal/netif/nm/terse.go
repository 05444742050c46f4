package nm

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"tether/internal/netif"
)

// splitTerse splits one line of nmcli's terse tabular output into its
// fields: they are separated by ':', and a ':' or '\' inside a value is
// escaped with '\'.
func splitTerse(line string) []string {
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(fields, cur.String())
}

// lines returns out's non-empty lines.
func lines(out []byte) []string {
	var ls []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// terseRows splits terse tabular output into rows of fields.
func terseRows(out []byte) [][]string {
	var rows [][]string
	for _, l := range lines(out) {
		rows = append(rows, splitTerse(l))
	}
	return rows
}

// parseShow reads terse multiline output ("IP4.ADDRESS[1]:10.0.0.2/24")
// into values by field name, with the "[n]" index dropped and repeated
// fields kept in order. The name ends at the first ':'; the value is
// unescaped whether or not nmcli escaped it (a MAC comes either way).
func parseShow(out []byte) map[string][]string {
	m := map[string][]string{}
	for _, l := range lines(out) {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		m[name] = append(m[name], unescape(value))
	}
	return m
}

// unescape undoes nmcli's "\:" and "\\".
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.Join(splitTerse(s), ":")
}

// parseScan reads "SSID:SIGNAL:SECURITY" rows: one network per SSID, the
// strongest, in the order first seen; hidden (empty) SSIDs left out.
func parseScan(out []byte) []netif.Network {
	var nets []netif.Network
	at := map[string]int{}
	for _, f := range terseRows(out) {
		if len(f) < 3 || f[0] == "" {
			continue
		}
		sig, _ := strconv.Atoi(f[1])
		sec := f[2] != "" && f[2] != "--"
		if i, ok := at[f[0]]; ok {
			if sig > nets[i].Signal {
				nets[i].Signal, nets[i].Secure = sig, sec
			}
			continue
		}
		at[f[0]] = len(nets)
		nets = append(nets, netif.Network{SSID: f[0], Signal: sig, Secure: sec})
	}
	return nets
}
