package process

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// want is what lineReader must return for data: each line without its
// "\n" (and a "\r" before it), a line of max bytes or more skipped, or cut
// to its first max bytes.
func want(data []byte, max int, cut bool) (lines []string, skipped []int) {
	segs := bytes.Split(data, []byte("\n"))
	if len(segs[len(segs)-1]) == 0 {
		segs = segs[:len(segs)-1] // data ended with "\n", or was empty
	}
	for _, s := range segs {
		switch {
		case len(s) < max:
			lines, skipped = append(lines, string(bytes.TrimSuffix(s, []byte("\r")))), append(skipped, 0)
		case cut:
			lines, skipped = append(lines, string(bytes.TrimSuffix(s[:max], []byte("\r")))), append(skipped, len(s)-max)
		default:
			lines, skipped = append(lines, ""), append(skipped, len(s))
		}
	}
	return lines, skipped
}

func read(t *testing.T, r io.Reader, max int, cut bool) (lines []string, skipped []int) {
	lr := newLineReader(r, max, cut)
	for {
		line, n, err := lr.next()
		if errors.Is(err, io.EOF) {
			return lines, skipped
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if len(line) > max || bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("line of %d bytes (max %d) or holding a newline: %q", len(line), max, line)
		}
		lines, skipped = append(lines, string(line)), append(skipped, n)
	}
}

func check(t *testing.T, data []byte, max int, cut bool, chunk int) {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	if chunk == 1 {
		r = iotest.OneByteReader(r)
	} else if chunk > 1 {
		r = &chunked{data: data, n: chunk}
	}
	gotL, gotS := read(t, r, max, cut)
	wantL, wantS := want(data, max, cut)
	if len(gotL) != len(wantL) {
		t.Fatalf("max %d cut %v: got %d lines %q %v, want %d %q %v", max, cut, len(gotL), gotL, gotS, len(wantL), wantL, wantS)
	}
	for i := range gotL {
		if gotL[i] != wantL[i] || gotS[i] != wantS[i] {
			t.Fatalf("max %d cut %v: line %d: got %q skipped %d, want %q skipped %d", max, cut, i, gotL[i], gotS[i], wantL[i], wantS[i])
		}
	}
}

// chunked reads data n bytes at a time, as a pipe hands over writes.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestLineReader(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 100)
	for _, data := range [][]byte{
		nil, []byte("\n"), []byte("a\nb\r\n\nc"), append(append([]byte("a\n"), long...), "\nb\n"...),
		append(long, long...), []byte("0123456789abcdef\n0123456789abcde\n"), []byte("\r\n\r"),
	} {
		for _, cut := range []bool{false, true} {
			for _, chunk := range []int{0, 1, 7} {
				check(t, data, 16, cut, chunk)
			}
		}
	}
}

// A 100 MB line is skipped without ever being held, and the lines after
// it come through.
func TestLineReaderHugeLine(t *testing.T) {
	const size = 100 << 20
	r := io.MultiReader(bytes.NewReader([]byte(`{"type":"state"}`+"\n")), &repeat{b: 'x', n: size},
		bytes.NewReader([]byte("\nafter\n")))
	lr := newLineReader(r, 1<<20, false)
	var got []string
	var skipped []int
	for {
		line, n, err := lr.next()
		if err != nil {
			break
		}
		got, skipped = append(got, string(line)), append(skipped, n)
	}
	if len(got) != 3 || got[0] != `{"type":"state"}` || skipped[1] != size || got[2] != "after" {
		t.Fatalf("got %q skipped %v", got, skipped)
	}
}

// repeat is n bytes b.
type repeat struct {
	b byte
	n int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), uint8(16), false, uint8(3))
	f.Add(bytes.Repeat([]byte("y"), 40), uint8(16), true, uint8(0))
	f.Add([]byte("\n\n\r\n"), uint8(20), true, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, max uint8, cut bool, chunk uint8) {
		check(t, data, 16+int(max%64), cut, int(chunk%9))
	})
}
