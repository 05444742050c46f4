package mqtt

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRemainingLength(t *testing.T) {
	tests := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{maxLength, []byte{0xff, 0xff, 0xff, 0x7f}},
	}
	for _, tt := range tests {
		if got := appendLength(nil, tt.n); !bytes.Equal(got, tt.want) {
			t.Errorf("appendLength(%d): got % x, want % x", tt.n, got, tt.want)
		}
	}
}

func TestPackets(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want []byte
	}{
		{"connect", AppendConnect(nil, "c1", 60), []byte("\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02c1")},
		{"subscribe", AppendSubscribe(nil, 7, "a/b"), []byte("\x82\x08\x00\x07\x00\x03a/b\x00")},
		{"publish", AppendPublish(nil, "t", []byte("hi")), []byte("\x30\x05\x00\x01thi")},
		{"pingreq", AppendPingreq(nil), []byte{0xc0, 0}},
		{"disconnect", AppendDisconnect(nil), []byte{0xe0, 0}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.b, tt.want) {
			t.Errorf("%s: got % x, want % x", tt.name, tt.b, tt.want)
		}
	}
}

func TestReadPacket(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 300)
	stream := AppendPublish(nil, "x/y", big)
	stream = AppendPublish(stream, "q", nil)
	stream = append(stream, 0xd0, 0)                               // PINGRESP
	stream = append(stream, 0x32, 0x07, 0, 1, 't', 0, 9, 'o', 'k') // QoS 1 publish, packet id 9
	r := bufio.NewReader(bytes.NewReader(stream))
	var buf []byte
	want := []struct {
		typ     byte
		topic   string
		payload []byte
	}{{Publish, "x/y", big}, {Publish, "q", nil}, {Pingresp, "", nil}, {Publish, "t", []byte("ok")}}
	for i, w := range want {
		var p Packet
		var err error
		p, buf, err = ReadPacket(r, buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if p.Type != w.typ {
			t.Fatalf("packet %d: got type %d, want %d", i, p.Type, w.typ)
		}
		if p.Type != Publish {
			continue
		}
		topic, payload, err := ParsePublish(p)
		if err != nil || topic != w.topic || !bytes.Equal(payload, w.payload) {
			t.Errorf("packet %d: got %q, %d bytes, %v; want %q, %d bytes", i, topic, len(payload), err, w.topic, len(w.payload))
		}
	}
	if _, _, err := ReadPacket(r, buf); err != io.EOF {
		t.Errorf("at the end: got %v, want io.EOF", err)
	}
}

func TestReadPacketMalformed(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		text     string
	}{
		{"length of five bytes", "\x30\xff\xff\xff\xff\x01", ErrMalformed, "more than 4 bytes"},
		{"cut in the length", "\x30\x80", io.ErrUnexpectedEOF, ""},
		{"cut in the body", "\x30\x05\x00\x01t", io.ErrUnexpectedEOF, ""},
	}
	for _, tt := range tests {
		_, _, err := ReadPacket(bufio.NewReader(strings.NewReader(tt.in)), nil)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: got %v, want %v containing %q", tt.name, err, tt.want, tt.text)
		}
	}
	_, _, err := ParsePublish(Packet{Type: Publish, Body: []byte{0, 9, 'a'}})
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("publish with a topic past its body: got %v, want ErrMalformed", err)
	}
}
