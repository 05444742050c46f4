package wsclient

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"unicode/utf8"

	"tether/internal/wsframe"
)

// previewLen is how many payload bytes of a data frame -v prints; control
// frames (at most 125 bytes) are always printed whole.
const previewLen = 256

// maxHandshake bounds the bytes buffered while looking for the end of the
// HTTP handshake; beyond it, the log stops rather than grow.
const maxHandshake = 64 << 10

// loggingConn is a net.Conn that shows the bytes it carries to a frameLog
// per direction: what it writes is the client's ("> "), what it reads the
// server's ("< ").
type loggingConn struct {
	net.Conn
	in, out *frameLog
}

func newLoggingConn(c net.Conn, print func(string)) *loggingConn {
	return &loggingConn{
		Conn: c,
		in:   &frameLog{dir: "<", print: print},
		out:  &frameLog{dir: ">", print: print},
	}
}

func (c *loggingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.feed(p[:n])
	return n, err
}

// Write logs p before writing it, so that a frame shows before its answer.
func (c *loggingConn) Write(p []byte) (int, error) {
	c.out.feed(p)
	return c.Conn.Write(p)
}

// frameLog parses one direction of a WebSocket connection from its raw
// bytes, as they pass: first the HTTP handshake, printed line by line, then
// each frame with its opcode, length and payload (unmasked). It buffers at
// most a frame header and a payload preview.
type frameLog struct {
	mu    sync.Mutex
	dir   string
	print func(string)

	buf       []byte // handshake bytes, or a partial frame header
	upgraded  bool   // the handshake is over; frames follow
	broken    bool   // the stream made no sense; stop logging
	inPayload bool
	hdr       wsframe.Header
	remaining uint64 // payload bytes still to come
	offset    uint64 // payload bytes seen, for unmasking
	preview   []byte
}

func (l *frameLog) feed(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(p) > 0 && !l.broken {
		switch {
		case !l.upgraded:
			p = l.feedHandshake(p)
		case !l.inPayload:
			p = l.feedHeader(p)
		default:
			p = l.feedPayload(p)
		}
	}
}

func (l *frameLog) feedHandshake(p []byte) []byte {
	l.buf = append(l.buf, p...)
	end := bytes.Index(l.buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(l.buf) > maxHandshake {
			l.print(l.dir + " (handshake longer than 64 KiB; no more frame log)")
			l.broken = true
		}
		return nil
	}
	for _, line := range strings.Split(string(l.buf[:end]), "\r\n") {
		l.print(l.dir + " " + line)
	}
	rest := append([]byte(nil), l.buf[end+4:]...)
	l.buf = nil
	l.upgraded = true
	return rest
}

func (l *frameLog) feedHeader(p []byte) []byte {
	l.buf = append(l.buf, p...)
	h, n, err := wsframe.Parse(l.buf)
	if err != nil {
		l.print(l.dir + " (" + err.Error() + "; no more frame log)")
		l.broken = true
		return nil
	}
	if n == 0 {
		return nil
	}
	rest := append([]byte(nil), l.buf[n:]...)
	l.buf = l.buf[:0]
	l.hdr, l.inPayload = h, true
	l.remaining, l.offset, l.preview = uint64(h.Len), 0, l.preview[:0]
	if h.Len == 0 {
		l.emit()
	}
	return rest
}

func (l *frameLog) feedPayload(p []byte) []byte {
	k := uint64(len(p))
	if k > l.remaining {
		k = l.remaining
	}
	limit := uint64(previewLen)
	if l.hdr.IsControl() {
		limit = wsframe.MaxControl
	}
	for i := uint64(0); i < k && uint64(len(l.preview)) < limit; i++ {
		b := p[i]
		if l.hdr.Masked {
			b ^= l.hdr.Key[(l.offset+i)%4]
		}
		l.preview = append(l.preview, b)
	}
	l.offset += k
	l.remaining -= k
	if l.remaining == 0 {
		l.emit()
	}
	return p[k:]
}

var opcodeNames = map[byte]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

// emit prints the frame just completed, e.g.
//
//	> text 5 B "hello"
//	< ping 4 B "\x01\x02\x03\x04"
//	< close 1000 "bye"
func (l *frameLog) emit() {
	h := l.hdr
	l.inPayload = false
	name, ok := opcodeNames[h.Op]
	if !ok {
		name = fmt.Sprintf("opcode-%d", h.Op)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", l.dir, name)
	if !h.Fin {
		b.WriteString(" (not final)")
	}
	if h.RSV != 0 {
		fmt.Fprintf(&b, " rsv=%d", h.RSV>>4)
	}
	if h.Op == wsframe.OpClose && len(l.preview) >= 2 {
		code := binary.BigEndian.Uint16(l.preview)
		fmt.Fprintf(&b, " %d %q", code, l.preview[2:])
	} else {
		fmt.Fprintf(&b, " %d B %s", h.Len, quote(l.preview, uint64(h.Len)))
	}
	l.print(b.String())
}

// quote shows a payload: as a quoted string when it is UTF-8, else as hex,
// with "..." when only a preview of it was kept.
func quote(p []byte, length uint64) string {
	more := ""
	if uint64(len(p)) < length {
		more = "..."
		// The preview may end inside a character: drop its first bytes.
		for k := 1; k < utf8.UTFMax && k < len(p) && !utf8.Valid(p); k++ {
			if utf8.Valid(p[:len(p)-k]) {
				p = p[:len(p)-k]
			}
		}
	}
	if utf8.Valid(p) {
		return fmt.Sprintf("%q%s", p, more)
	}
	return fmt.Sprintf("0x%x%s", p, more)
}
