package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Masked is what a secret looks like in a masked config file.
const Masked = "********"

// secretKeys are the keys whose string values are secrets, wherever they
// are: network.json's ap.password and sta.pass, app.json's demo.home.token.
var secretKeys = []string{"pass", "password", "token", "secret", "psk"}

// secretRE finds a secret key and its string value in text that may not
// parse; group 1 is the key, group 2 the value without its quotes.
var secretRE = regexp.MustCompile(`"(pass|password|token|secret|psk)"\s*:\s*"((?:[^"\\]|\\.)*)"`)

// MaskSecrets returns a config file's text with the value of every secret
// key (pass, password, token, secret, psk) replaced by Masked, and the rest
// of the text as it was. Empty values and placeholders ("<AP password>")
// are not secrets and stay. A file that does not parse is masked too.
func MaskSecrets(text []byte) []byte {
	var spans [][2]int
	if top, p := parse(&source{data: text}); p == nil {
		walkSecrets(top, "", func(_ string, n *node) {
			if isSecretValue(n.str) {
				spans = append(spans, [2]int{n.start, n.end})
			}
		})
	} else {
		for _, m := range secretRE.FindAllSubmatchIndex(text, -1) {
			var v string
			if json.Unmarshal(text[m[4]-1:m[5]+1], &v) == nil && !isSecretValue(v) {
				continue
			}
			spans = append(spans, [2]int{m[4] - 1, m[5] + 1})
		}
	}
	return replaceSpans(text, spans, func(int) []byte { return []byte(`"` + Masked + `"`) })
}

// UnmaskSecrets returns edited, a file's new text, with every secret that
// still reads Masked replaced by the value at the same key path in current,
// the file as it is, so an operator can change a file without retyping its
// secrets. A masked secret that current has no value for is an error naming
// its key path. Text that does not parse is returned as it is: validating it
// reports why.
func UnmaskSecrets(name string, edited, current []byte) ([]byte, error) {
	top, p := parse(&source{file: name, data: edited})
	if p != nil {
		return edited, nil
	}
	var masked []string
	var spans [][2]int
	walkSecrets(top, "", func(path string, n *node) {
		if n.str == Masked {
			masked, spans = append(masked, path), append(spans, [2]int{n.start, n.end})
		}
	})
	if len(masked) == 0 {
		return edited, nil
	}
	old := currentSecrets(current)
	values := make([][]byte, len(masked))
	seen := map[string]int{} // a key repeated in an object: take its values in order
	for i, path := range masked {
		v, ok := old.lookup(path, seen[path])
		seen[path]++
		if !ok {
			return nil, fmt.Errorf("%s: %s: still reads %q, but the file on the device has no value to keep: type it", name, path, Masked)
		}
		values[i] = v
	}
	return replaceSpans(edited, spans, func(i int) []byte { return values[i] }), nil
}

// secretValues maps key paths to the JSON text of secret values.
type secretValues struct {
	byPath map[string][][]byte // in file order
	byKey  map[string][]byte   // when the file does not parse: keys found once
}

// currentSecrets reads the secrets of current, the file on the device.
// When it does not parse (a device in recovery), a secret key found once
// in it stands for that key at any path.
func currentSecrets(current []byte) secretValues {
	sv := secretValues{byPath: map[string][][]byte{}, byKey: map[string][]byte{}}
	if top, p := parse(&source{data: current}); p == nil {
		walkSecrets(top, "", func(path string, n *node) {
			sv.byPath[path] = append(sv.byPath[path], current[n.start:n.end])
		})
		return sv
	}
	count := map[string]int{}
	for _, m := range secretRE.FindAllSubmatchIndex(current, -1) {
		key := string(current[m[2]:m[3]])
		count[key]++
		sv.byKey[key] = current[m[4]-1 : m[5]+1]
	}
	for key, n := range count {
		if n > 1 {
			delete(sv.byKey, key)
		}
	}
	return sv
}

// lookup returns the value kept for the nth secret at path.
func (sv secretValues) lookup(path string, nth int) ([]byte, bool) {
	if vs := sv.byPath[path]; nth < len(vs) {
		return vs[nth], true
	}
	v, ok := sv.byKey[path[strings.LastIndexByte(path, '.')+1:]]
	return v, ok
}

// walkSecrets calls f with the key path and node of every string value of
// a secret key under n.
func walkSecrets(n *node, path string, f func(path string, n *node)) {
	switch n.kind {
	case kindObject:
		for _, m := range n.members {
			p := joinPath(path, m.key)
			if m.val.kind == kindString && slices.Contains(secretKeys, m.key) {
				f(p, m.val)
				continue
			}
			walkSecrets(m.val, p, f)
		}
	case kindArray:
		for i, e := range n.elems {
			walkSecrets(e, fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}

// isSecretValue reports whether a secret key's value is worth hiding.
func isSecretValue(v string) bool {
	return v != "" && !isPlaceholder(v)
}

// replaceSpans returns text with each span (sorted, not overlapping)
// replaced by with(i).
func replaceSpans(text []byte, spans [][2]int, with func(i int) []byte) []byte {
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	at := 0
	for i, s := range spans {
		b.Write(text[at:s[0]])
		b.Write(with(i))
		at = s[1]
	}
	b.Write(text[at:])
	return []byte(b.String())
}
