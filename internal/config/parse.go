package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// kind is a JSON value's type.
type kind uint8

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

// node is one JSON value with its place in the file.
type node struct {
	kind       kind
	start, end int // byte offsets of the value in the file
	str        string
	num        json.Number
	b          bool
	members    []member // kindObject, in file order
	elems      []*node  // kindArray
	broken     bool     // a container cut short by a syntax error (parsePartial)
}

// member is one key of an object.
type member struct {
	key    string
	keyOff int
	val    *node
}

// source is a file's contents and name, for locating offsets.
type source struct {
	file string
	data []byte
}

// pos returns the 1-based line and column (in characters) of offset off.
func (s *source) pos(off int) (line, col int) {
	off = min(max(off, 0), len(s.data))
	before := s.data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}

// problem returns a Problem at offset off.
func (s *source) problem(off int, path, msg string) Problem {
	line, col := s.pos(off)
	return Problem{File: s.file, Line: line, Col: col, Path: path, Msg: msg}
}

// maxFileSize bounds a config file; real ones are a few hundred bytes.
const maxFileSize = 1 << 20

// parse checks s's syntax and returns its top-level value as a tree of
// located nodes, or the located syntax problem.
//
// The syntax check runs encoding/json's full scanner first, whose
// SyntaxError.Offset always counts from the start of the file (the
// Decoder's, after Token, can count from the start of the current value).
// Only then is the tree built from the Decoder's tokens, each located by
// InputOffset.
func parse(s *source) (*node, *Problem) {
	if len(s.data) > maxFileSize {
		p := Problem{File: s.file, Msg: fmt.Sprintf("file too large: %d bytes, want at most %d", len(s.data), maxFileSize)}
		return nil, &p
	}
	s.data = blankBOM(s.data)
	if p := s.checkUTF8(); p != nil {
		return nil, p
	}
	if len(bytes.TrimSpace(s.data)) == 0 {
		p := s.problem(0, "", "empty file, want a JSON object")
		return nil, &p
	}
	if err := json.Unmarshal(s.data, new(json.RawMessage)); err != nil {
		p := s.syntaxProblem(err)
		return nil, &p
	}
	dec := json.NewDecoder(bytes.NewReader(s.data))
	dec.UseNumber()
	n, err := s.build(dec)
	if err != nil { // cannot happen after Unmarshal accepted the file
		p := s.problem(int(dec.InputOffset()), "", err.Error())
		return nil, &p
	}
	return n, nil
}

// checkUTF8 locates the first byte of s that is not UTF-8. encoding/json
// would quietly turn such bytes into U+FFFD, so a password or SSID saved
// in another encoding (Latin-1, UTF-16) would load as something else.
func (s *source) checkUTF8() *Problem {
	if utf8.Valid(s.data) {
		return nil
	}
	off := 0
	for off < len(s.data) {
		r, n := utf8.DecodeRune(s.data[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	hint := "save the file as UTF-8"
	if bytes.HasPrefix(s.data, []byte{0xff, 0xfe}) || bytes.HasPrefix(s.data, []byte{0xfe, 0xff}) {
		hint = "the file is UTF-16: save it as UTF-8"
	}
	p := s.problem(off, "", fmt.Sprintf("not UTF-8: byte 0x%02x (%s)", s.data[off], hint))
	return &p
}

// blankBOM returns data with a leading UTF-8 byte order mark, which some
// editors add, turned into spaces (in a copy), keeping every offset.
func blankBOM(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("\uFEFF")) {
		return data
	}
	data = bytes.Clone(data)
	copy(data, "   ")
	return data
}

// build reads one value from dec into a node. On an error it returns the
// value as far as it was read (nil if not begun), marked broken, with the
// error: Salvage uses what a broken file holds before its fault.
func (s *source) build(dec *json.Decoder) (*node, error) {
	start := s.skip(int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &node{start: start}
	switch t := tok.(type) {
	case json.Delim:
		if err := s.buildContainer(dec, n, t); err != nil {
			n.broken, n.end = true, max(n.start, int(dec.InputOffset()))
			return n, err
		}
	case string:
		n.kind, n.str = kindString, t
	case json.Number:
		n.kind, n.num = kindNumber, t
	case bool:
		n.kind, n.b = kindBool, t
	case nil:
		n.kind = kindNull
	}
	n.end = int(dec.InputOffset())
	return n, nil
}

// buildContainer reads the members or elements of an object or array whose
// opening delimiter open was just read, and its closing delimiter. On an
// error, n keeps the members read so far (a broken last one included).
func (s *source) buildContainer(dec *json.Decoder, n *node, open json.Delim) error {
	n.kind = kindArray
	if open == '{' {
		n.kind = kindObject
	}
	for dec.More() {
		if n.kind == kindArray {
			v, err := s.build(dec)
			if v != nil {
				n.elems = append(n.elems, v)
			}
			if err != nil {
				return err
			}
			continue
		}
		keyOff := s.skip(int(dec.InputOffset()))
		key, err := dec.Token()
		if err != nil {
			return err
		}
		v, err := s.build(dec)
		if v != nil {
			n.members = append(n.members, member{key: key.(string), keyOff: keyOff, val: v})
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.Token() // the closing delimiter
	return err
}

// parsePartial returns the top-level value of s as far as it can be read:
// the whole tree for a file that parses, else what comes before its first
// syntax error, with the values that error cut short marked broken; nil
// when not even the top-level value begins.
func parsePartial(s *source) *node {
	if len(s.data) > maxFileSize || !utf8.Valid(s.data) {
		return nil
	}
	s.data = blankBOM(s.data)
	dec := json.NewDecoder(bytes.NewReader(s.data))
	dec.UseNumber()
	n, _ := s.build(dec)
	return n
}

// skip returns the offset of the next token at or after off, past
// whitespace and the separators the decoder consumes with a token.
func (s *source) skip(off int) int {
	for off < len(s.data) {
		switch s.data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// syntaxProblem locates a syntax error from encoding/json and adds a hint
// for the usual slips.
func (s *source) syntaxProblem(err error) Problem {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return Problem{File: s.file, Msg: err.Error()}
	}
	if se.Offset >= int64(len(s.data)) && strings.Contains(se.Error(), "end of JSON input") {
		end := len(bytes.TrimRight(s.data, " \t\r\n"))
		return s.problem(end, "", "unexpected end of file (an object, array or string is not closed)")
	}
	off := int(se.Offset) - 1 // Offset counts the bad byte
	return s.problem(off, "", se.Error()+s.hint(off, se.Error()))
}

// hint suggests the likely slip behind a syntax error at off.
func (s *source) hint(off int, msg string) string {
	if off < 0 || off >= len(s.data) {
		return ""
	}
	c := s.data[off]
	prev := bytes.TrimRight(s.data[:off], " \t\r\n")
	switch {
	case (c == '}' || c == ']') && bytes.HasSuffix(prev, []byte(",")):
		return " (remove the comma before it)"
	case c == '\'':
		return " (JSON strings take double quotes)"
	case strings.Contains(msg, "in string literal"):
		return ` (write a newline or tab in a string as \n or \t)`
	case strings.Contains(msg, "after object key:value pair"), strings.Contains(msg, "after array element"):
		return " (a comma missing before it?)"
	case strings.Contains(msg, "looking for beginning of object key string") && c != ',':
		return " (keys take double quotes)"
	case strings.Contains(msg, "after top-level value"):
		return " (the file holds one object: an extra closing brace?)"
	}
	return ""
}
