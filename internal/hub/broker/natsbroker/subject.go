package natsbroker

import (
	"strings"
)

// Subject scheme, under Options.Prefix (P, "tether" by default):
//
//	P.dev.<id>.in.t|b   a page's text or binary message for device <id>;
//	                    the hub holding <id> subscribes to P.dev.<id>.in.*
//	P.dev.<id>.out.t|b  device <id>'s text or binary message for its pages;
//	                    every hub with pages of <id> subscribes to P.dev.<id>.out.*
//	P.presence          a device connection came or went (JSON), to every hub
//	P.hubs              heartbeats, hellos (with a snapshot, answered by every
//	                    hub with its own) and goodbyes of hub processes (JSON)
//	P.hub.<inst>.snap   snapshots sent to hub instance <inst>
//	P.hub.<inst>.sync   asks <inst> for its snapshot (reply subject given)
//	P.hub.<inst>.shadow asks <inst> for a device's shadow (request-reply)
//
// <id> is the device id with '%', '.', '*', '>', spaces, controls and
// non-ASCII bytes written %XX, so that it is always one subject token.
// <inst> is a random id a hub process draws at start.

// subjects are the subject names of one broker.
type subjects struct {
	prefix string // "tether."
	dev    string // "tether.dev."
}

func newSubjects(prefix string) subjects {
	return subjects{prefix: prefix + ".", dev: prefix + ".dev."}
}

func (s subjects) presence() string             { return s.prefix + "presence" }
func (s subjects) hubs() string                 { return s.prefix + "hubs" }
func (s subjects) hub(inst, what string) string { return s.prefix + "hub." + inst + "." + what }

// in is the subject of a page's message for device; kind is 't' or 'b',
// or '*' to subscribe to both.
func (s subjects) in(device string, kind byte) string {
	return s.dev + encodeToken(device) + ".in." + string(kind)
}

// out is the subject of device's messages for its pages.
func (s subjects) out(device string, kind byte) string {
	return s.dev + encodeToken(device) + ".out." + string(kind)
}

func kindByte(binary bool) byte {
	if binary {
		return 'b'
	}
	return 't'
}

// parseDev splits a P.dev.<id>.<dir>.<kind> subject into the device id,
// whether it goes in (to the device) and whether it is binary.
func (s subjects) parseDev(subj string) (device string, in, binary, ok bool) {
	rest, found := strings.CutPrefix(subj, s.dev)
	if !found || len(rest) < 6 || rest[len(rest)-2] != '.' {
		return "", false, false, false
	}
	binary = rest[len(rest)-1] == 'b'
	rest = rest[:len(rest)-2]
	switch {
	case strings.HasSuffix(rest, ".in"):
		in, rest = true, rest[:len(rest)-3]
	case strings.HasSuffix(rest, ".out"):
		rest = rest[:len(rest)-4]
	default:
		return "", false, false, false
	}
	device, ok = decodeToken(rest)
	return device, in, binary, ok
}

// encodeToken makes s one subject token: bytes that NATS gives a meaning
// to, or that subjects cannot hold, are written %XX.
func encodeToken(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if escapes(s[i]) {
			n++
		}
	}
	if n == 0 && s != "" {
		return s
	}
	if s == "" {
		return "%"
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escapes(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func escapes(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '%' || c == '.' || c == '*' || c == '>'
}

// decodeToken reverses encodeToken.
func decodeToken(t string) (string, bool) {
	if t == "%" {
		return "", true
	}
	if !strings.Contains(t, "%") {
		return t, t != ""
	}
	b := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if t[i] != '%' {
			b = append(b, t[i])
			continue
		}
		if i+2 >= len(t) {
			return "", false
		}
		hi, ok1 := unhex(t[i+1])
		lo, ok2 := unhex(t[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
