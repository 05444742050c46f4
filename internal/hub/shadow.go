package hub

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"tether/internal/redact"
)

// The shadow is the device's latest state as the hub keeps it, for pages
// that connect later and for /api/devices/<id>: its state object (the
// message holding "iam", which replaces the previous one whole) and the
// latest value of its other data keys. Never kept, because they are not
// state: events and one-shot replies ("info", "error", the WiFi test,
// store and scan results, a driver's ".../msg",
// ".../line" and ".../data", "log/..." lines, config file text under "config/file/"
// and "recovery/file/", recovery's recent log), the hub's own "hub/..."
// keys, and secrets (package redact). The first message of a new device
// connection starts a new shadow: a device that restarts or reconnects
// replaces it.
type shadow struct {
	keys      map[string]json.RawMessage
	stateKeys []string // the keys the last state object set
	bytes     int      // the keys and values as JSON, commas and colons included
	updated   time.Time
	fresh     bool   // the next message starts a new shadow
	enc       []byte // the shadow as JSON, nil when stale
}

// replayRoom is what marking a shadow as replayed may add to it (replayOf),
// kept free below the message limit.
const replayRoom = 256

// shadowLimits bound one device's shadow.
type shadowLimits struct{ keys, bytes int }

// replies are the data keys of the device's own items that answer one
// page's request (test_new_sta, store_new_sta, wifi_scan): a page that
// connects later did not ask.
var replies = map[string]bool{"wifi/test/result": true, "wifi/store/result": true, "wifi/scan": true}

// event reports whether a key is an event or a one-shot reply, never
// kept as state.
func event(key string) bool {
	switch {
	case key == "info" || key == "error" || key == "recovery/log" || replies[key]:
		return true
	case strings.HasPrefix(key, "log/"), strings.HasPrefix(key, "hub/"),
		strings.HasPrefix(key, "config/file/"), strings.HasPrefix(key, "recovery/file/"):
		return true
	}
	last := key[strings.LastIndexByte(key, '/')+1:]
	return last == "msg" || last == "line" || last == "lines" || last == "data"
}

// update takes a message from the device into the shadow and reports how
// many of its keys did not fit the limits. The shadow's time moves only
// when state came (a message of events only leaves it as it was).
func (s *shadow) update(data []byte, now time.Time, lim shadowLimits) (dropped int) {
	var obj map[string]json.RawMessage
	if !isObject(data) || json.Unmarshal(data, &obj) != nil {
		return 0
	}
	_, isState := obj["iam"]
	touched := isState || s.fresh || s.keys == nil
	if s.fresh || s.keys == nil {
		s.keys, s.stateKeys, s.bytes, s.fresh = make(map[string]json.RawMessage, len(obj)), nil, 0, false
	}
	if isState {
		for _, k := range s.stateKeys {
			s.remove(k)
		}
		s.stateKeys = s.stateKeys[:0]
	}
	for _, k := range sortedKeys(obj) {
		if event(k) {
			continue
		}
		touched = true
		v, keep := redact.Value(k, obj[k])
		if !keep {
			s.remove(k)
			continue
		}
		if !s.set(k, v, lim) {
			dropped++
			continue
		}
		if isState {
			s.stateKeys = append(s.stateKeys, k)
		}
	}
	if touched {
		s.updated, s.enc = now, nil
	}
	return dropped
}

// set stores k = v unless the limits forbid it, in which case an older
// value of k goes too (it is no longer the latest).
func (s *shadow) set(k string, v json.RawMessage, lim shadowLimits) bool {
	if bytes.ContainsAny(v, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, v) == nil {
			v = buf.Bytes()
		}
	}
	s.remove(k)
	size := memberSize(k, v)
	if len(s.keys) >= lim.keys || s.bytes+size > lim.bytes {
		return false
	}
	s.keys[k] = v
	s.bytes += size
	return true
}

func (s *shadow) remove(k string) {
	if v, ok := s.keys[k]; ok {
		s.bytes -= memberSize(k, v)
		delete(s.keys, k)
	}
}

// restart marks the shadow to be replaced by what the device's new
// connection sends; until then pages get the old one, with its age.
func (s *shadow) restart() { s.fresh = true }

// json returns the shadow as one JSON object whose first key,
// "hub/shadow/updated", says when it last changed; nil when it is empty.
func (s *shadow) json() []byte {
	if len(s.keys) == 0 {
		return nil
	}
	if s.enc != nil {
		return s.enc
	}
	b := make([]byte, 0, s.bytes+64)
	b = append(b, `{"hub/shadow/updated":"`...)
	b = s.updated.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, k := range sortedKeys(s.keys) {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, s.keys[k]...)
	}
	s.enc = append(b, '}')
	return s.enc
}

// replayOf is what a page that connects is sent of a shadow (as json
// returns it): the shadow marked as replayed, with its age in seconds, so
// that a page can tell it from a fresh reply; a page that knows nothing of
// these keys (the seed's) takes the state keys as it always did. Nil when
// it would not fit limit.
func replayOf(sh []byte, now time.Time, limit int) []byte {
	if len(sh) < 2 {
		return nil
	}
	out := []byte(`{"hub/shadow/replayed":true,`)
	if rest, ok := bytes.CutPrefix(sh, []byte(`{"hub/shadow/updated":"`)); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 {
			if at, err := time.Parse(time.RFC3339Nano, string(rest[:end])); err == nil {
				age := now.Sub(at).Round(time.Millisecond).Seconds()
				out = append(out, `"hub/shadow/age":`...)
				out = strconv.AppendFloat(out, age, 'f', -1, 64)
				out = append(out, ',')
			}
		}
	}
	out = append(out, sh[1:]...)
	if len(out) > limit {
		return nil
	}
	return out
}

// memberSize is what key k with value v adds to the shadow's JSON.
func memberSize(k string, v []byte) int { return len(appendString(nil, k)) + 2 + len(v) }

// appendString appends s as a JSON string, without HTML escaping.
func appendString(b []byte, s string) []byte {
	if plain(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// plain reports whether s needs no escaping in a JSON string.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func isObject(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) >= 2 && data[0] == '{'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
