package hubws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// frameGuard sits between a connection's socket and the WebSocket library's
// reader: it follows the frames going by (headers read, payloads skipped)
// and stops the stream at a header the library could mishandle, writing the
// close frame itself. lxzan/gws v1.8.9 turns a 64-bit length with the top
// bit set into a negative int and panics; a length past the message limit
// is refused here too, so a 32-bit board never truncates one.
//
// It returns the bytes before a bad header, then errBadFrame; the close
// frame goes out through closeWith, which must make later writes fail.
type frameGuard struct {
	r         io.Reader
	max       uint64
	closeWith func(code int, reason string)

	hdr    [14]byte
	hn     int    // header bytes seen so far
	need   int    // header length, known once two bytes are in
	remain uint64 // payload bytes still to skip
	err    error  // sticky, once a bad header was seen
}

// errBadFrame ends the read of a connection whose peer sent a frame header
// that breaks RFC 6455 in a way the library cannot be trusted with.
var errBadFrame = errors.New("bad frame header")

func newFrameGuard(r io.Reader, maxMessage int, closeWith func(int, string)) *frameGuard {
	return &frameGuard{r: r, max: uint64(maxMessage), closeWith: closeWith}
}

func (g *frameGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if k, bad := g.scan(p[:n]); bad != nil {
		g.err = fmt.Errorf("%w: %w", errBadFrame, bad)
		return k, g.err
	}
	return n, err
}

// badHeader says what is wrong with a complete frame header, and the close
// code to answer it with.
type badHeader struct {
	code   int
	reason string
}

func (b *badHeader) Error() string { return b.reason }

// scan follows the frames in b; on a bad header it closes the connection and
// returns how many bytes of b came before that header.
func (g *frameGuard) scan(b []byte) (int, error) {
	start := 0 // where the header being read began in b (0 if before b)
	for i := 0; i < len(b); {
		if g.remain > 0 {
			skip := min(g.remain, uint64(len(b)-i))
			i += int(skip)
			g.remain -= skip
			continue
		}
		if g.hn == 0 {
			start = i
		}
		g.hdr[g.hn] = b[i]
		g.hn++
		i++
		if g.hn == 2 {
			g.need = 2 + extLen(g.hdr[1]&0x7f)
			if g.hdr[1]&0x80 != 0 {
				g.need += 4
			}
		}
		if g.hn < 2 || g.hn < g.need {
			continue
		}
		length := g.length()
		g.hn = 0
		if bad := g.check(length); bad != nil {
			g.closeWith(bad.code, bad.reason)
			return start, bad
		}
		g.remain = length
	}
	return len(b), nil
}

func extLen(code byte) int {
	switch code {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}

// length is the payload length of the complete header in g.hdr.
func (g *frameGuard) length() uint64 {
	switch code := g.hdr[1] & 0x7f; code {
	case 126:
		return uint64(binary.BigEndian.Uint16(g.hdr[2:4]))
	case 127:
		return binary.BigEndian.Uint64(g.hdr[2:10])
	default:
		return uint64(code)
	}
}

func (g *frameGuard) check(length uint64) *badHeader {
	if length>>63 != 0 {
		return &badHeader{CodeProtocolError, "frame length with the most significant bit set"}
	}
	if length > g.max {
		return &badHeader{CodeTooBig, fmt.Sprintf("frame of %d bytes, over the %d-byte limit", length, g.max)}
	}
	return nil
}
