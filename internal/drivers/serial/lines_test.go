package serial

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"
)

type got struct {
	line string
	cut  bool
}

func split(max int, chunks ...string) ([]got, *lines) {
	var out []got
	l := &lines{max: max, emit: func(s string, cut bool) { out = append(out, got{s, cut}) }}
	for _, c := range chunks {
		l.write([]byte(c))
	}
	return out, l
}

func TestLines(t *testing.T) {
	for _, tt := range []struct {
		name   string
		max    int
		chunks []string
		want   []got
	}{
		{"lf and crlf", 10, []string{"one\ntwo\r\n\n"}, []got{{"one", false}, {"two", false}, {"", false}}},
		{"split anywhere", 10, []string{"o", "ne\r", "\ntw", "o\n"}, []got{{"one", false}, {"two", false}}},
		{"no end yet", 10, []string{"partial"}, nil},
		{"exactly max", 4, []string{"abcd\n", "abcd\r\n"}, []got{{"abcd", false}, {"abcd", false}}},
		{"one over max", 4, []string{"abcde\n"}, []got{{"abcd", true}}},
		{"cut at once, rest dropped", 4, []string{"abcdefgh", "ijk", "\nok\n"}, []got{{"abcd", true}, {"ok", false}}},
		{"cr inside kept", 10, []string{"a\rb\n"}, []got{{"a\rb", false}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out, _ := split(tt.max, tt.chunks...); !slices.Equal(out, tt.want) {
				t.Errorf("got %+v, want %+v", out, tt.want)
			}
		})
	}
}

// A line with no end holds at most max+1 bytes, however much comes.
func TestEndlessLineIsBounded(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 4096)
	var out []got
	l := &lines{max: 1000, emit: func(s string, cut bool) { out = append(out, got{s, cut}) }}
	for range 4096 { // 16 MiB
		l.write(chunk)
	}
	if c := cap(l.buf); c > 4096 {
		t.Errorf("buffer grew to %d bytes", c)
	}
	l.write([]byte("\nend\n"))
	if len(out) != 2 || out[0] != (got{strings.Repeat("x", 1000), true}) || out[1] != (got{"end", false}) {
		t.Errorf("lines: %d, first %d bytes; %v", len(out), len(out[0].line), out[len(out)-1])
	}
}

// FuzzLines: any bytes, split anywhere, give the same lines, none longer
// than max, and a cut line only where the input had a longer one.
func FuzzLines(f *testing.F) {
	f.Add([]byte("hello\r\nworld\n"), uint8(3), uint8(8))
	f.Add([]byte("a very long line with no end"), uint8(1), uint8(4))
	f.Add([]byte("\n\r\n\r\r\n"), uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step, max uint8) {
		m := int(max%64) + 1
		var chunks []string
		for rest, n := data, int(step%16)+1; len(rest) > 0; rest = rest[min(n, len(rest)):] {
			chunks = append(chunks, string(rest[:min(n, len(rest))]))
		}
		whole, _ := split(m, string(data))
		parts, l := split(m, chunks...)
		if !slices.Equal(whole, parts) {
			t.Fatalf("split differently: %+v vs %+v", whole, parts)
		}
		if len(l.buf) > m+1 {
			t.Fatalf("holds %d bytes, max %d", len(l.buf), m)
		}
		want := strings.Split(string(data), "\n")
		if tail := want[len(want)-1]; len(tail) <= m+1 {
			want = want[:len(want)-1] // no end yet, nor too long
		}
		if len(parts) != len(want) {
			t.Fatalf("%d lines, want %d: %+v", len(parts), len(want), parts)
		}
		for i, w := range want {
			w = strings.TrimSuffix(w, "\r")
			if g := (got{w[:min(m, len(w))], len(w) > m}); parts[i] != g {
				t.Fatalf("line %d: got %+v, want %+v", i, parts[i], g)
			}
		}
	})
}

// benchInput is 1 MiB of 64-byte lines ending in "\r\n", as an Arduino's
// println sends them.
func benchInput() []byte {
	line := strings.Repeat("x", 62) + "\r\n"
	return bytes.Repeat([]byte(line), (1<<20)/len(line))
}

// BenchmarkLines splits what a port sends into lines, in the 4 KiB reads
// the driver makes.
func BenchmarkLines(b *testing.B) {
	in := benchInput()
	n := 0
	l := &lines{max: 4096, emit: func(string, bool) { n++ }}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for rest := in; len(rest) > 0; rest = rest[min(4096, len(rest)):] {
			l.write(rest[:min(4096, len(rest))])
		}
	}
}

// BenchmarkScannerBaseline splits the same bytes with bufio.Scanner into
// strings, the standard library's way, with no bound on a line beyond its
// buffer's.
func BenchmarkScannerBaseline(b *testing.B) {
	in := benchInput()
	n := 0
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(in))
		for sc.Scan() {
			_ = string(bytes.TrimSuffix(sc.Bytes(), []byte{'\r'}))
			n++
		}
	}
}
