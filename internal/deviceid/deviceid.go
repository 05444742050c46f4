// Package deviceid is the one rule for device ids, shared by everything
// that takes one: network.json's device.iam (package config), the hub's
// /<id> paths and auth file, and the common name of a device's client
// certificate (package certs). An id the config accepts is one the hub and
// certs accept, so a device can never be configured with an id it cannot
// use.
//
// The rule: 1-64 ASCII letters, digits, '.', '_' or '-', not starting with
// '.'. Such an id is one URL path segment needing no escaping, a file name
// (never "." or ".."), a certificate common name and a log field, and has
// no look-alike characters.
package deviceid

import "fmt"

// MaxLen is the longest id, in bytes (all ASCII).
const MaxLen = 64

// Rule says which ids are valid, for messages and docs.
const Rule = "1-64 ASCII letters, digits, '.', '_' or '-', not starting with '.'"

// Check returns nil for a valid id, else what is wrong with it. The
// message never holds more than the first 64 bytes of id, quoted.
func Check(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty, want %s", Rule)
	case len(id) > MaxLen:
		return fmt.Errorf("%d characters, want at most %d", len(id), MaxLen)
	case id[0] == '.':
		return fmt.Errorf("%q starts with '.', want %s", id, Rule)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !allowed(c) {
			return fmt.Errorf("%q has %q at byte %d, want %s", id, c, i+1, Rule)
		}
	}
	return nil
}

// Valid reports whether id follows the rule.
func Valid(id string) bool { return Check(id) == nil }

func allowed(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// MaxLabelLen is the longest device label, in bytes.
const MaxLabelLen = 64

// LabelRule says which labels are valid, for messages and docs.
const LabelRule = "1-64 ASCII letters, digits, '.', '_', '-', '=' or ':'"

// CheckLabel returns nil for a valid device label ("kitchen",
// "site=berlin"), else what is wrong with it. Labels group devices for the
// hub's grants (label:NAME); network.json's device.labels and the hub's
// auth file follow this one rule.
func CheckLabel(l string) error {
	if l == "" || len(l) > MaxLabelLen {
		return fmt.Errorf("label of %d bytes, want %s", len(l), LabelRule)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !allowed(c) && c != '=' && c != ':' {
			return fmt.Errorf("label %q has %q at byte %d, want %s", l, c, i+1, LabelRule)
		}
	}
	return nil
}
