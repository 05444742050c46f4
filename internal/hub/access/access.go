// Package access decides who may do what to which device on the hub: a
// page credential's grants (device selectors × verbs) and the verb each
// message a page sends needs.
//
// Verbs are ordered: View (receive what the device sends), Drive (also
// send it commands), Admin (also its operator items: config, restart,
// recovery, updates, logs). Each includes the ones before it. A selector
// names devices by id ("Device_1"), by pattern ("kitchen-*", path.Match
// syntax), by label ("label:floor2") or all of them ("*").
//
// Everything here is pure: no I/O, safe for concurrent use once built.
package access

import (
	"fmt"
	"path"
	"strings"

	"tether/internal/deviceid"
)

// Verb is what a grant allows on a device; a greater verb includes the
// smaller ones.
type Verb uint8

// The verbs, in order.
const (
	None  Verb = iota // nothing: the device is not even visible
	View              // receive what the device sends (its state, replies to others)
	Drive             // also send it commands
	Admin             // also its operator items (AdminItem)
)

var verbNames = [...]string{None: "none", View: "view", Drive: "drive", Admin: "admin"}

// String is the verb's name in the auth file.
func (v Verb) String() string {
	if int(v) < len(verbNames) {
		return verbNames[v]
	}
	return fmt.Sprintf("verb(%d)", v)
}

// ParseVerb reads a verb's name ("view", "drive", "admin").
func ParseVerb(s string) (Verb, error) {
	for v, name := range verbNames {
		if v != int(None) && s == name {
			return Verb(v), nil
		}
	}
	return None, fmt.Errorf("unknown verb %q, want view, drive or admin", s)
}

// Grant is one grant as the auth file writes it: the devices it covers
// and the verbs it allows on them.
type Grant struct {
	Devices []string `json:"devices"`
	Verbs   []string `json:"verbs"`
}

// Grants are compiled grants; the zero value grants nothing.
type Grants struct {
	rules []rule
}

type rule struct {
	sels []Selector
	verb Verb
}

// Everything grants every verb on every device: what a page token without
// grants carries, as before grants existed.
var Everything = Grants{rules: []rule{{sels: []Selector{{kind: selAll}}, verb: Admin}}}

// Compile checks and compiles grants; errors name the grant, its key and
// the index ("[1].devices[0]: ...").
func Compile(gs []Grant) (Grants, error) {
	var out Grants
	for i, g := range gs {
		if len(g.Devices) == 0 {
			return Grants{}, fmt.Errorf("[%d].devices: empty, want at least one selector (an id, a pattern, label:NAME or *)", i)
		}
		if len(g.Verbs) == 0 {
			return Grants{}, fmt.Errorf("[%d].verbs: empty, want view, drive or admin", i)
		}
		r := rule{}
		for j, s := range g.Devices {
			sel, err := ParseSelector(s)
			if err != nil {
				return Grants{}, fmt.Errorf("[%d].devices[%d]: %w", i, j, err)
			}
			r.sels = append(r.sels, sel)
		}
		for j, s := range g.Verbs {
			v, err := ParseVerb(s)
			if err != nil {
				return Grants{}, fmt.Errorf("[%d].verbs[%d]: %w", i, j, err)
			}
			r.verb = max(r.verb, v)
		}
		out.rules = append(out.rules, r)
	}
	return out, nil
}

// On returns the greatest verb the grants allow on the device id carrying
// labels.
func (g Grants) On(id string, labels []string) Verb {
	v := None
	for _, r := range g.rules {
		if r.verb > v && r.matches(id, labels) {
			v = r.verb
		}
	}
	return v
}

// Everywhere returns the greatest verb the grants allow on every device
// (by a "*" selector): Admin everywhere is the hub's operator, who may
// read /metrics and make enrollment codes.
func (g Grants) Everywhere() Verb {
	v := None
	for _, r := range g.rules {
		for _, s := range r.sels {
			if s.kind == selAll {
				v = max(v, r.verb)
			}
		}
	}
	return v
}

// Most returns the greatest verb the grants allow on some device: Admin
// somewhere may upload an update (which it may then roll out only to the
// devices it administers).
func (g Grants) Most() Verb {
	v := None
	for _, r := range g.rules {
		v = max(v, r.verb)
	}
	return v
}

// Empty reports whether the grants allow nothing at all.
func (g Grants) Empty() bool { return len(g.rules) == 0 }

func (r rule) matches(id string, labels []string) bool {
	for _, s := range r.sels {
		if s.Match(id, labels) {
			return true
		}
	}
	return false
}

// selKind is what a Selector matches on.
type selKind uint8

const (
	selID selKind = iota
	selPattern
	selLabel
	selAll
)

// Selector names devices: one id, an id pattern, a label, or all.
type Selector struct {
	kind selKind
	s    string
}

// ParseSelector reads a selector: "*" (every device), "label:NAME" (devices
// carrying that label), a pattern holding '*', '?' or '[' (path.Match
// syntax, matched against the id), or one device id.
func ParseSelector(s string) (Selector, error) {
	switch {
	case s == "*":
		return Selector{kind: selAll}, nil
	case strings.HasPrefix(s, "label:"):
		name := s[len("label:"):]
		if err := CheckLabel(name); err != nil {
			return Selector{}, fmt.Errorf("selector %q: %w", s, err)
		}
		return Selector{kind: selLabel, s: name}, nil
	case strings.ContainsAny(s, "*?["):
		if len(s) > 256 {
			return Selector{}, fmt.Errorf("pattern of %d bytes, want at most 256", len(s))
		}
		if _, err := path.Match(s, ""); err != nil {
			return Selector{}, fmt.Errorf("pattern %q: %w", s, err)
		}
		return Selector{kind: selPattern, s: s}, nil
	}
	if err := deviceid.Check(s); err != nil {
		return Selector{}, fmt.Errorf("device id: %w (or a pattern with *, label:NAME, or *)", err)
	}
	return Selector{kind: selID, s: s}, nil
}

// Match reports whether the selector covers the device id carrying labels.
func (s Selector) Match(id string, labels []string) bool {
	switch s.kind {
	case selAll:
		return true
	case selID:
		return s.s == id
	case selPattern:
		ok, _ := path.Match(s.s, id)
		return ok
	}
	for _, l := range labels {
		if l == s.s {
			return true
		}
	}
	return false
}

// CheckLabel returns nil for a valid label ("kitchen", "site=berlin"),
// else what is wrong with it: the one rule of package deviceid.
func CheckLabel(l string) error { return deviceid.CheckLabel(l) }

// CheckLabels checks every label of a list; the error names its index.
func CheckLabels(ls []string) error {
	if len(ls) > 64 {
		return fmt.Errorf(": %d labels, want at most 64", len(ls))
	}
	for i, l := range ls {
		if err := CheckLabel(l); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}
