package localpeer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Lines as a little-endian kernel writes them: 127.0.0.1 is 0100007F,
// ::1 is 00000000000000000000000001000000, ::ffff:127.0.0.1 is
// 0000000000000000FFFF00000100007F.
const (
	header4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	header6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	// a server listening on 127.0.0.1:8080, its end of a connection
	// from 127.0.0.1:41668 (uid 0: the server is root's), the client's
	// end (uid 1000), and an old closed client of the same addresses
	// waiting out its last packets (FIN_WAIT2, shown with uid 0).
	table4 = header4 +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16030231 1 0000000000000000 100 0 0 10 0\n" +
		"   1: 0100007F:1F90 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000     0        0 16030300 1 0000000000000000 20 4 30 10 -1\n" +
		"   2: 0100007F:A2C5 0100007F:1F90 05 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1\n" +
		"   3: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 16030299 1 0000000000000000 20 4 30 10 -1\n" +
		"   4: 0200007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 16030298 1 0000000000000000 20 4 30 10 -1\n"
	// ::1:50000 → ::1:8080 (uid 1002), and an IPv6 socket connected to
	// ::ffff:127.0.0.1:8080 from ::ffff:127.0.0.1:50001 (uid 1003).
	table6 = header6 +
		"   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 200 1 0000000000000000 20 4 30 10 -1\n" +
		"   1: 0000000000000000FFFF00000100007F:C351 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1003        0 201 1 0000000000000000 20 4 30 10 -1\n"
)

func TestFind(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tt := range []struct {
		name, table    string
		client, server string
		uid            uint32
		found          bool
	}{
		{"IPv4 client", table4, "127.0.0.1:41668", "127.0.0.1:8080", 1000, true},
		{"another loopback address", table4, "127.0.0.2:41668", "127.0.0.1:8080", 1001, true},
		{"the server's own end is not the client", table4, "127.0.0.1:8080", "127.0.0.1:41668", 0, true},
		{"a closed client (FIN_WAIT2, uid 0) is no one", table4, "127.0.0.1:41669", "127.0.0.1:8080", 0, false},
		{"no such port", table4, "127.0.0.1:41670", "127.0.0.1:8080", 0, false},
		{"wrong server", table4, "127.0.0.1:41668", "127.0.0.1:8081", 0, false},
		{"IPv6 ::1", table6, "[::1]:50000", "[::1]:8080", 1002, true},
		{"IPv4-mapped IPv6 socket", table6, "127.0.0.1:50001", "127.0.0.1:8080", 1003, true},
		{"empty", "", "127.0.0.1:41668", "127.0.0.1:8080", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uid, found, err := find(strings.NewReader(tt.table), binary.LittleEndian, ap(tt.client), ap(tt.server))
			if err != nil || uid != tt.uid || found != tt.found {
				t.Errorf("find = %d, %v, %v; want %d, %v", uid, found, err, tt.uid, tt.found)
			}
		})
	}
}

// TestFindBigEndian: a big-endian kernel writes 127.0.0.1 as 7F000001.
func TestFindBigEndian(t *testing.T) {
	table := header4 + "   0: 7F000001:A2C4 7F000001:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1 1\n"
	uid, found, err := find(strings.NewReader(table), binary.BigEndian, netip.MustParseAddrPort("127.0.0.1:41668"), netip.MustParseAddrPort("127.0.0.1:8080"))
	if err != nil || !found || uid != 1000 {
		t.Errorf("find = %d, %v, %v; want 1000", uid, found, err)
	}
}

// TestParseLineRefuses: lines that are not sockets are skipped, never
// half read.
func TestParseLineRefuses(t *testing.T) {
	for _, line := range []string{
		header4,
		"",
		"0: 0100007F:A2C4 0100007F:1F90 01 x x x",                                  // no uid
		"0: 0100007F:A2C4 0100007F:1F90 01 x x x -1",                               // negative uid
		"0: 0100007F:A2C4 0100007F:1F90 01 x x x 4294967296",                       // uid past 32 bits
		"0: 0100007F:A2C4 0100007F:1F90 1FF x x x 0",                               // state past a byte
		"0: 0100007F:A2C4 0100007F 01 x x x 0",                                     // no port
		"0: 0100007F:A2C45 0100007F:1F90 01 x x x 0",                               // port too long
		"0: 0100007:A2C4 0100007F:1F90 01 x x x 0",                                 // 7 digits
		"0: 0100007G:A2C4 0100007F:1F90 01 x x x 0",                                // not hex
		"0: +100007F:A2C4 0100007F:1F90 01 x x x 0",                                // a sign
		"0: 0100007F:+2C4 0100007F:1F90 01 x x x 0",                                // a sign in the port
		"0: 000000000000000000000000010000:C350 0100007F:1F90 01 x x x 0",          // 30 digits
		"0: 00000000000000000000000001000000:C350:1 0100007F:1F90 01 x x x 0",      // two colons
		"0: 0100007F:A2C4 0100007F:1F90 01 x x x " + strings.Repeat("9", 30) + "0", // huge uid
	} {
		if s, ok := parseLine([]byte(line), binary.LittleEndian); ok {
			t.Errorf("parseLine(%q) = %+v, want refused", line, s)
		}
	}
}

// TestFindLongLine: a line past maxLine ends the search with an error,
// finding no one.
func TestFindLongLine(t *testing.T) {
	table := strings.Repeat("x", maxLine+1) + "\n" + table4
	_, found, err := find(strings.NewReader(table), binary.LittleEndian, netip.MustParseAddrPort("127.0.0.1:41668"), netip.MustParseAddrPort("127.0.0.1:8080"))
	if found || err == nil {
		t.Errorf("find = %v, %v; want not found and an error", found, err)
	}
}

// FuzzFind: no table, whatever its bytes, crashes the search, and what
// it finds is a line of the table.
func FuzzFind(f *testing.F) {
	f.Add([]byte(table4), "127.0.0.1:41668")
	f.Add([]byte(table6), "[::1]:50000")
	f.Add([]byte(table6), "127.0.0.1:50001")
	f.Add([]byte("0: 0100007F:A2C4 0100007F:1F90 01 a b c 0\n"), "127.0.0.1:41668")
	f.Fuzz(func(t *testing.T, table []byte, client string) {
		c, err := netip.ParseAddrPort(client)
		if err != nil {
			c = netip.MustParseAddrPort("127.0.0.1:41668")
		}
		server := netip.MustParseAddrPort("127.0.0.1:8080")
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			if _, found, _ := find(bytes.NewReader(table), order, unmap(c), server); found && !bytes.Contains(bytes.ToUpper(table), []byte(":1F90")) {
				t.Fatalf("found a client of port 8080 in a table that does not name it: %q", table)
			}
		}
	})
}

// BenchmarkFind10k: one search of a table of 10,000 sockets (a busy
// host) whose client is the last line.
func BenchmarkFind10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(header4)
	for i := range 10000 {
		fmt.Fprintf(&sb, "%4d: 0100007F:%04X 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0000000000000000 20 4 30 10 -1\n", i, 20000+i, 1000+i)
	}
	table := []byte(sb.String())
	client, server := netip.MustParseAddrPort("127.0.0.1:29999"), netip.MustParseAddrPort("127.0.0.1:8080")
	b.SetBytes(int64(len(table)))
	for b.Loop() {
		if _, found, err := find(bytes.NewReader(table), binary.LittleEndian, client, server); !found || err != nil {
			b.Fatal(found, err)
		}
	}
}
