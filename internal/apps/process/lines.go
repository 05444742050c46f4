package process

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader splits what a program writes into lines ending in "\n" (a
// "\r" before it is dropped), holding at most max bytes: a longer line is
// never held whole. Either it is skipped to its end and reported by its
// length (cut false: a protocol line that long cannot be used), or its
// first max bytes are returned and the rest skipped (cut true: a log
// line). Memory is one buffer of max bytes, whatever the program writes.
type lineReader struct {
	r    *bufio.Reader
	cut  bool
	head []byte // a cut line's first bytes, kept while its tail is read past
}

func newLineReader(r io.Reader, max int, cut bool) *lineReader {
	l := &lineReader{r: bufio.NewReaderSize(r, max), cut: cut}
	if cut {
		l.head = make([]byte, 0, max)
	}
	return l
}

// next returns the next line, valid until the following call, and how
// many bytes of it were skipped (the whole line, or its tail when cut).
// A last line without "\n" at the end of input is returned too. err is
// io.EOF at the end, or the read error.
func (l *lineReader) next() (line []byte, skipped int, err error) {
	line, err = l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := len(line)
		if l.cut {
			l.head = append(l.head[:0], line...)
		}
		n, err := l.skipLine()
		if l.cut {
			return trimEOL(l.head), n, err
		}
		return nil, long + n, err
	}
	if err != nil && len(line) == 0 {
		return nil, 0, err
	}
	return trimEOL(line), 0, nil // a last line without "\n" comes with err on the next call
}

// skipLine discards the rest of a line, returning how many bytes it had
// (its "\n" not counted) and the read error that ended it early.
func (l *lineReader) skipLine() (int, error) {
	n := 0
	for {
		b, err := l.r.ReadSlice('\n')
		if err == nil {
			return n + len(b) - 1, nil
		}
		n += len(b)
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = nil // the line ended with the input; EOF comes next call
			}
			return n, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
