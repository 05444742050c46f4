package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder walks a parsed file against the known keys, storing values and
// collecting located problems.
type decoder struct {
	src      *source
	problems []Problem
	at       map[string]int // key path → offset of its value, for later checks
	m        Machine        // checks against the machine; zero skips them
	root     string         // the device root, for the machine's checks; "" unknown
}

func newDecoder(src *source, m Machine, root string) *decoder {
	return &decoder{src: src, at: map[string]int{}, m: m, root: root}
}

// errorf records an error at offset off for the key path.
func (d *decoder) errorf(off int, path, format string, args ...any) {
	d.problems = append(d.problems, d.src.problem(off, path, fmt.Sprintf(format, args...)))
}

// warnf records a warning at offset off for the key path.
func (d *decoder) warnf(off int, path, format string, args ...any) {
	p := d.src.problem(off, path, fmt.Sprintf(format, args...))
	p.Warning = true
	d.problems = append(d.problems, p)
}

// field decodes one value found at path.
type field func(d *decoder, n *node, path string)

// fields maps an object's known keys to their decoders.
type fields map[string]field

// object decodes n as an object of the known keys fs; other keys are
// reported as unknown.
func (d *decoder) object(n *node, path string, fs fields) {
	d.members(n, path, fs, nil)
}

// members decodes n as an object of the known keys fs, handing other keys to
// rest, or reporting them as unknown when rest is nil. A null value leaves
// its key unset; a key given twice is an error.
func (d *decoder) members(n *node, path string, fs fields, rest func(m member, path string)) {
	if n.kind != kindObject {
		d.errorf(n.start, path, "want an object, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	for _, m := range n.members {
		p := joinPath(path, m.key)
		if first, dup := seen[m.key]; dup {
			line, _ := d.src.pos(first)
			d.errorf(m.keyOff, p, "duplicate key, first given on line %d", line)
			continue
		}
		seen[m.key] = m.keyOff
		f, known := fs[m.key]
		switch {
		case known && m.val.kind == kindNull:
		case known:
			d.at[p] = m.val.start
			f(d, m.val, p)
		case rest != nil:
			rest(m, p)
		default:
			d.unknown(m, p, fs)
		}
	}
}

// unknown warns about an unknown key, suggesting a known one it resembles.
func (d *decoder) unknown(m member, path string, fs fields) {
	msg := "unknown key"
	if s := suggest(m.key, fs); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.warnf(m.keyOff, path, "%s", msg)
	d.problems[len(d.problems)-1].Unknown = true
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// obj is a field holding a nested object of the keys fs.
func obj(fs fields) field {
	return func(d *decoder, n *node, path string) { d.object(n, path, fs) }
}

// stringRule says which strings a key takes.
type stringRule struct {
	want string            // "a device id (...)", used in messages
	ok   func(string) bool // nil: any string
	// secret keeps the value out of messages, which reach logs, the
	// recovery page and the hub: they give its length only.
	secret bool
}

// anyString takes every string.
var anyString = stringRule{want: "a string"}

// str is a string field checked by rule.
func str(p *string, rule stringRule) field {
	return func(d *decoder, n *node, path string) {
		if v, ok := d.text(n, path, rule); ok {
			*p = v
		}
	}
}

// text returns n's string if rule takes it. A placeholder ("<AP ssid>")
// gives "" with a warning, or an error when rule refuses "".
func (d *decoder) text(n *node, path string, rule stringRule) (string, bool) {
	if n.kind != kindString {
		d.errorf(n.start, path, "want %s, got %s", rule.want, rule.describe(n))
		return "", false
	}
	if isPlaceholder(n.str) {
		if rule.ok != nil && !rule.ok("") {
			d.errorf(n.start, path, "placeholder %q, unset: want %s", n.str, rule.want)
			return "", false
		}
		d.warnf(n.start, path, "placeholder %q, unset", n.str)
		return "", true
	}
	if rule.ok != nil && !rule.ok(n.str) {
		d.errorf(n.start, path, "want %s, got %s", rule.want, rule.describe(n))
		return "", false
	}
	return n.str, true
}

// describe shows n in a message, or only its kind and length when the
// rule's values are secret.
func (rule stringRule) describe(n *node) string {
	if !rule.secret {
		return describe(n)
	}
	switch n.kind {
	case kindString:
		return fmt.Sprintf("a string of %d characters (not shown: it is a secret)", utf8.RuneCountInString(n.str))
	case kindNumber:
		return "a number (not shown: it is a secret)"
	case kindBool:
		return "true or false"
	}
	return describe(n) // containers and null show no value
}

// isPlaceholder reports whether v is an unfilled value in angle brackets.
func isPlaceholder(v string) bool {
	return len(v) >= 2 && strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">")
}

// intRule says which whole numbers a key takes.
type intRule struct {
	want     string
	min, max int64
}

// integer is an int field checked by rule.
func integer(p *int, rule intRule) field {
	return func(d *decoder, n *node, path string) {
		if v, ok := d.wholeNumber(n, path, rule); ok {
			*p = int(v)
		}
	}
}

// integer64 is an int64 field checked by rule.
func integer64(p *int64, rule intRule) field {
	return func(d *decoder, n *node, path string) {
		if v, ok := d.wholeNumber(n, path, rule); ok {
			*p = v
		}
	}
}

func (d *decoder) wholeNumber(n *node, path string, rule intRule) (int64, bool) {
	if n.kind == kindNumber {
		v, err := strconv.ParseInt(string(n.num), 10, 64)
		if err == nil && v >= rule.min && v <= rule.max {
			return v, true
		}
	}
	d.errorf(n.start, path, "want %s, got %s", rule.want, describe(n))
	return 0, false
}

// boolean is a bool field.
func boolean(p *bool) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindBool {
			d.errorf(n.start, path, "want true or false, got %s", describe(n))
			return
		}
		*p = n.b
	}
}

// describe shows a value in a message: strings quoted (and cut short when
// long), numbers and literals as written, containers by kind.
func describe(n *node) string {
	switch n.kind {
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindString:
		s := n.str
		if utf8.RuneCountInString(s) > 40 {
			s = string([]rune(s)[:40]) + "…"
		}
		return strconv.Quote(s)
	case kindNumber:
		return string(n.num)
	case kindBool:
		return strconv.FormatBool(n.b)
	}
	return "null"
}

// suggest returns the known key closest to key when it is a likely typo.
func suggest(key string, fs fields) string {
	best, bestDist := "", 3
	for k := range fs {
		if dist := editDistance(strings.ToLower(key), k); dist < bestDist || dist == bestDist && k < best {
			best, bestDist = k, dist
		}
	}
	if bestDist > 2 || bestDist >= len(key) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
