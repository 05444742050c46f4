package localpeer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
)

// Supported reports whether Owner can find anyone here: Linux only.
const Supported = true

// tables are the kernel's TCP socket tables, IPv4 first: an IPv4 client
// may also be an IPv6 socket connected to an IPv4-mapped address.
var tables = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// lookup finds the uid owning the established socket from client to
// server (both unmapped) in the kernel's tables.
func lookup(client, server netip.AddrPort) (uint32, bool, error) {
	names := tables
	if client.Addr().Is6() {
		names = tables[1:]
	}
	for _, name := range names {
		uid, ok, err := lookupIn(name, client, server)
		if ok || err != nil {
			return uid, ok, err
		}
	}
	return 0, false, nil
}

// lookupIn looks the socket up in the table name; a missing table (no
// IPv6) holds none.
func lookupIn(name string, client, server netip.AddrPort) (uint32, bool, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find socket owner: %w", err)
	}
	defer f.Close()
	uid, ok, err := find(f, binary.NativeEndian, client, server)
	if err != nil {
		return 0, false, fmt.Errorf("find socket owner: read %s: %w", name, err)
	}
	return uid, ok, nil
}
