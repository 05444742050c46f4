package localpeer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// maxLine bounds a line of a socket table; the kernel's are under 200
// bytes.
const maxLine = 4096

// stateEstablished is an established connection's "st" in the tables.
const stateEstablished = 0x01

// socket is one line of a kernel TCP table (/proc/net/tcp, tcp6):
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	0: 0100007F:1F90 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000  1000        0 4242 ...
//
// Addresses are hex words in the kernel's byte order, ports hex numbers,
// the uid decimal.
type socket struct {
	local, remote netip.AddrPort // IPv4-mapped addresses as IPv4
	state         uint8
	uid           uint32
}

// find returns the uid of the established socket in the table r whose
// local address is client and whose remote address is server (both
// unmapped), and whether there is one. order is the byte order of the
// kernel that wrote r. A line it cannot read is skipped, and so is one
// without the client's port as the kernel writes it (4 upper-case hex
// digits); a line longer than maxLine ends the search with an error.
func find(r io.Reader, order binary.ByteOrder, client, server netip.AddrPort) (uint32, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	port := fmt.Appendf(nil, ":%04X ", client.Port()) // as the kernel writes the client's port
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), port) {
			continue // not the client: most lines, skipped unparsed
		}
		s, ok := parseLine(sc.Bytes(), order)
		if ok && s.state == stateEstablished && s.local == client && s.remote == server {
			return s.uid, true, nil
		}
	}
	return 0, false, sc.Err()
}

// parseLine reads one line of a table; false for the header or a line
// that is not a socket.
func parseLine(line []byte, order binary.ByteOrder) (socket, bool) {
	f := bytes.Fields(line)
	if len(f) < 8 {
		return socket{}, false
	}
	local, ok := parseAddr(f[1], order)
	if !ok {
		return socket{}, false
	}
	remote, ok := parseAddr(f[2], order)
	if !ok {
		return socket{}, false
	}
	st, err := strconv.ParseUint(string(f[3]), 16, 8)
	if err != nil {
		return socket{}, false
	}
	uid, err := strconv.ParseUint(string(f[7]), 10, 32)
	if err != nil {
		return socket{}, false
	}
	return socket{local: local, remote: remote, state: uint8(st), uid: uint32(uid)}, true
}

// parseAddr reads "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6): each 8 digits one 32-bit word of the address in order.
func parseAddr(b []byte, order binary.ByteOrder) (netip.AddrPort, bool) {
	host, port, ok := bytes.Cut(b, []byte{':'})
	if !ok || len(port) != 4 || (len(host) != 8 && len(host) != 32) {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(string(port), 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ip [16]byte
	for i := 0; i < len(host); i += 8 {
		w, err := strconv.ParseUint(string(host[i:i+8]), 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		order.PutUint32(ip[i/2:], uint32(w))
	}
	a := netip.AddrFrom16(ip)
	if len(host) == 8 {
		a = netip.AddrFrom4([4]byte(ip[:4]))
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}
