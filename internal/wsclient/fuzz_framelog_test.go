package wsclient

import (
	"slices"
	"strings"
	"testing"
)

// FuzzFrameLog feeds -v's frame log any byte stream, cut into pieces at
// any points: it never panics, prints the same lines however the stream
// is cut (the log parses a byte stream, not reads), and keeps its buffer
// within a frame header or the handshake bound.
func FuzzFrameLog(f *testing.F) {
	hs := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
	key := []byte{9, 8, 7, 6}
	f.Add([]byte(hs+string(frame(true, 1, []byte("hello"), nil))), uint8(3))
	f.Add([]byte(hs+string(frame(true, 1, []byte("hello"), key))), uint8(1))
	f.Add([]byte(hs+string(frame(false, 2, make([]byte, 300), key))+string(frame(true, 0, []byte("x"), key))), uint8(7))
	f.Add([]byte(hs+string(frame(true, 8, []byte{3, 0xe8, 'b'}, nil))), uint8(2))
	f.Add([]byte(hs+string(frame(true, 8, []byte{3}, nil))), uint8(1))
	f.Add([]byte(hs+"\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xff"), uint8(4))
	f.Add([]byte(hs+"\x8f\xfe\x00"), uint8(1))
	f.Add([]byte("no handshake at all"), uint8(5))
	f.Add([]byte(hs+string(frame(true, 1, []byte("é"+strings.Repeat("a", 300)), nil))), uint8(11))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		whole := logLines(stream, len(stream)+1)
		cut := logLines(stream, int(step%64)+1)
		if !slices.Equal(whole, cut) {
			t.Fatalf("lines differ when cut every %d bytes:\nwhole %q\ncut   %q", step%64+1, whole, cut)
		}
	})
}

// logLines feeds stream to a frame log n bytes at a time and returns what
// it printed, checking the buffer bound after every piece.
func logLines(stream []byte, n int) []string {
	var out []string
	l := &frameLog{dir: "<", print: func(s string) { out = append(out, s) }}
	for len(stream) > 0 {
		k := min(n, len(stream))
		l.feed(stream[:k])
		stream = stream[k:]
		if len(l.buf) > maxHandshake+n || len(l.preview) > previewLen {
			panic("frame log buffers more than its bounds")
		}
	}
	return out
}
