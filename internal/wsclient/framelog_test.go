package wsclient

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"

	"tether/internal/wsframe"
)

// frame encodes one frame, masked with key when key is not nil.
func frame(fin bool, opcode byte, payload []byte, key []byte) []byte {
	var k *[4]byte
	if key != nil {
		k = (*[4]byte)(key)
	}
	b := wsframe.AppendHeader(nil, fin, opcode, len(payload), k)
	p := slices.Clone(payload)
	if k != nil {
		wsframe.Mask(*k, 0, p)
	}
	return append(b, p...)
}

func TestFrameLog(t *testing.T) {
	key := []byte{1, 2, 3, 4}
	var stream []byte
	stream = append(stream, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"...)
	stream = append(stream, frame(true, 1, []byte("hello"), key)...)
	stream = append(stream, frame(false, 1, []byte("part"), key)...)
	stream = append(stream, frame(true, 0, []byte("two"), key)...)
	stream = append(stream, frame(true, 2, bytes.Repeat([]byte{0xff}, 300), key)...)
	stream = append(stream, frame(true, 1, bytes.Repeat([]byte("a"), 70000), nil)...)
	stream = append(stream, frame(true, 1, []byte(strings.Repeat("a", previewLen-1)+"é and more"), key)...)
	stream = append(stream, frame(true, 9, []byte{0xff, 0x00}, key)...)
	stream = append(stream, frame(true, 10, nil, nil)...)
	stream = append(stream, frame(true, 8, append([]byte{0x03, 0xe8}, "bye"...), key)...)
	stream = append(stream, "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01more"...) // a length no frame may have
	want := []string{
		"> GET /x HTTP/1.1",
		"> Host: h",
		`> text 5 B "hello"`,
		`> text (not final) 4 B "part"`,
		`> continuation 3 B "two"`,
		"> binary 300 B 0x" + strings.Repeat("ff", previewLen) + "...",
		`> text 70000 B "` + strings.Repeat("a", previewLen) + `"...`,
		`> text 266 B "` + strings.Repeat("a", previewLen-1) + `"...`,
		"> ping 2 B 0xff00",
		`> pong 0 B ""`,
		`> close 1000 "bye"`,
		"> (frame length has its most significant bit set; no more frame log)",
	}
	for _, chunk := range []int{1, 3, 7, 100, 1 << 20} {
		var mu sync.Mutex
		var got []string
		l := &frameLog{dir: ">", print: func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }}
		for p := stream; len(p) > 0; {
			n := min(chunk, len(p))
			l.feed(p[:n])
			p = p[n:]
		}
		if !slices.Equal(got, want) {
			t.Errorf("chunks of %d: got\n%s\nwant\n%s", chunk, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestConsoleKeepsPrompt(t *testing.T) {
	var out, errOut bytes.Buffer
	c := &console{out: &out, errOut: &errOut, interactive: true}
	c.prompt()
	c.message("arrived")
	c.entered()
	c.message("later")
	c.prompt()
	c.endPrompt()
	want := "> " + "\r\x1b[K" + "arrived\n" + "> " + "later\n" + "> " + "\r\x1b[K"
	if out.String() != want {
		t.Errorf("interactive output %q, want %q", out.String(), want)
	}

	out.Reset()
	c = &console{out: &out, errOut: &errOut}
	c.prompt()
	c.message("m")
	if out.String() != "m\n" {
		t.Errorf("scripted output %q, want no prompt", out.String())
	}
}
