package wsframe

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	key := [4]byte{9, 8, 7, 6}
	for _, length := range []int{0, 1, 125, 126, 65535, 65536, 1 << 30} {
		for _, k := range []*[4]byte{nil, &key} {
			b := AppendHeader(nil, true, OpBinary, length, k)
			h, n, err := Parse(b)
			if err != nil || n != len(b) {
				t.Fatalf("len %d: parsed %d of %d bytes, err %v", length, n, len(b), err)
			}
			if !h.Fin || h.Op != OpBinary || h.Len != int64(length) || h.Masked != (k != nil) || (k != nil && h.Key != key) {
				t.Errorf("len %d masked %v: got %+v", length, k != nil, h)
			}
			for cut := range len(b) {
				if _, n, err := Parse(b[:cut]); n != 0 || err != nil {
					t.Errorf("len %d cut at %d: got size %d, err %v, want 0 (need more)", length, cut, n, err)
				}
			}
		}
	}
}

func TestParseRefusesTheTopLengthBit(t *testing.T) {
	b := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}
	if _, _, err := Parse(b); !errors.Is(err, ErrLength) {
		t.Errorf("got %v, want ErrLength", err)
	}
}

func TestParseFields(t *testing.T) {
	h, n, err := Parse([]byte{0x49, 0x85, 1, 2, 3, 4})
	if err != nil || n != 6 || h.Fin || h.RSV != 0x40 || h.Op != OpPing || !h.IsControl() || h.Len != 5 || h.Key != [4]byte{1, 2, 3, 4} {
		t.Errorf("got %+v, %d, %v", h, n, err)
	}
}

func naiveMask(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}

func TestMaskMatchesTheDefinition(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	for size := range 80 {
		for pos := range 4 {
			p := bytes.Repeat([]byte("abcdefg"), 12)[:size]
			want := bytes.Clone(p)
			naiveMask(key, pos, want)
			if next := Mask(key, pos, p); next != (pos+size)&3 || !bytes.Equal(p, want) {
				t.Fatalf("size %d pos %d: got %x (next %d), want %x", size, pos, p, next, want)
			}
		}
	}
	// in parts, as a payload arriving in pieces
	p := bytes.Repeat([]byte("xyz"), 33)
	want := bytes.Clone(p)
	naiveMask(key, 0, want)
	pos := 0
	for i := 0; i < len(p); i += 7 {
		pos = Mask(key, pos, p[i:min(i+7, len(p))])
	}
	if !bytes.Equal(p, want) {
		t.Errorf("masked in parts: got %x, want %x", p, want)
	}
}

func TestCloseCodes(t *testing.T) {
	for c, want := range map[int]bool{999: false, 1000: true, 1004: false, 1005: false, 1006: false, 1007: true, 1011: true, 1012: false, 2999: false, 3000: true, 4000: true, 4999: true, 5000: false} {
		if CloseCodeValid(c) != want {
			t.Errorf("CloseCodeValid(%d) = %v, want %v", c, !want, want)
		}
	}
}

// FuzzParse: no input makes Parse panic or claim bytes it was not given,
// and a header it accepts is written back to the same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4})
	f.Add([]byte{0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x02, 126, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil || n == 0 {
			return
		}
		if n > len(b) || n > MaxHeader || h.Len < 0 {
			t.Fatalf("Parse(%x) = %+v, %d", b, h, n)
		}
		var key *[4]byte
		if h.Masked {
			key = &h.Key
		}
		again := AppendHeader(nil, h.Fin, h.Op, int(h.Len), key)
		again[0] |= h.RSV
		h2, n2, _ := Parse(again)
		if n2 != len(again) || h2 != h {
			t.Fatalf("Parse(%x) = %+v; written back and parsed: %+v", b, h, h2)
		}
	})
}

// FuzzHeaderFields: a frame header built from any fields decodes to those
// fields and its exact length, and no prefix of it counts as complete.
func FuzzHeaderFields(f *testing.F) {
	f.Add(true, uint8(1), uint64(5), []byte{1, 2, 3, 4})
	f.Add(false, uint8(2), uint64(126), []byte(nil))
	f.Add(true, uint8(8), uint64(70000), []byte{0, 0, 0, 0})
	f.Add(true, uint8(2), uint64(1<<63-1), []byte(nil))
	f.Fuzz(func(t *testing.T, fin bool, op uint8, length uint64, key []byte) {
		op &= 0x0f
		length %= uint64(math.MaxInt) + 1
		var k *[4]byte
		if len(key) == 4 {
			k = (*[4]byte)(key)
		}
		b := AppendHeader(nil, fin, op, int(length), k)
		for i := range len(b) {
			if _, n, err := Parse(b[:i]); n != 0 || err != nil {
				t.Fatalf("header complete (or refused: %v) after %d of %d bytes", err, i, len(b))
			}
		}
		h, n, err := Parse(b)
		if err != nil || n != len(b) || h.Fin != fin || h.Op != op || h.Len != int64(length) || h.Masked != (k != nil) || (k != nil && h.Key != *k) {
			t.Fatalf("Parse = %+v, %d, %v; want fin %v op %d length %d key %x in %d bytes", h, n, err, fin, op, length, key, len(b))
		}
	})
}
