package serial

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
)

// Truncated ends a line that was longer than max_line: the line is cut
// there and the rest of it, up to its newline, is dropped.
const Truncated = "…[truncated]"

// lines splits what a port sends into lines ending in "\n" (a "\r" before
// it is dropped) and hands each to emit. It holds at most max+1 bytes: a
// longer line is handed on cut at max bytes, with truncated set, as soon
// as it is that long, and the rest of it is dropped.
type lines struct {
	max  int
	buf  []byte
	cut  bool // dropping the rest of a line already handed on
	emit func(line string, truncated bool)
}

// write takes the next bytes from the port.
func (l *lines) write(p []byte) {
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n')
		part := p
		if end >= 0 {
			part, p = p[:end], p[end+1:]
		} else {
			p = nil
		}
		if !l.cut {
			l.add(part)
		}
		if end >= 0 {
			l.endLine()
		}
	}
}

// add appends part to the line, handing the line on cut when it grows
// past max (+1 for a "\r" that may end it).
func (l *lines) add(part []byte) {
	room := l.max + 1 - len(l.buf)
	if len(part) <= room {
		l.buf = append(l.buf, part...)
		return
	}
	l.buf = append(l.buf, part[:room]...)
	l.emit(string(l.buf[:l.max]), true)
	l.buf, l.cut = l.buf[:0], true
}

// endLine hands on the line a "\n" ended.
func (l *lines) endLine() {
	if l.cut {
		l.cut = false
		return
	}
	line := bytes.TrimSuffix(l.buf, []byte{'\r'})
	if len(line) > l.max {
		l.emit(string(line[:l.max]), true)
	} else {
		l.emit(string(line), false)
	}
	l.buf = l.buf[:0]
}

// encode turns raw bytes into the text of a <name>/data message.
func encode(encoding string, b []byte) string {
	if encoding == "hex" {
		return hex.EncodeToString(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// decode turns send_message's text into the bytes to write.
func decode(encoding, text string) ([]byte, error) {
	if encoding == "hex" {
		return hex.DecodeString(text)
	}
	return base64.StdEncoding.DecodeString(text)
}
