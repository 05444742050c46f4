package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"tether/internal/cmdapi"
	"tether/internal/wire"
)

// The lines tether writes to a program's standard input. Keys come in the
// order given here, compact, one object a line, so that even a shell
// script can match them (docs/APPS.md).
type (
	// hello is the first line: who the program is, where it runs, and its
	// app.json entry.
	hello struct {
		Type   string          `json:"type"` // "hello"
		App    string          `json:"app"`
		Device string          `json:"device"`
		Root   string          `json:"root"`
		Tether string          `json:"tether"`
		Config json.RawMessage `json:"config"`
	}
	// request is a client's request for one of the program's items.
	request struct {
		Type string            `json:"type"` // "request"
		From string            `json:"from"` // the client: "c1", "c2", ...
		Kind string            `json:"kind"`
		Item string            `json:"item"`
		Args []json.RawMessage `json:"args"`
	}
	// gone says a client has gone: replies to it are dropped.
	gone struct {
		Type   string `json:"type"` // "gone"
		Client string `json:"client"`
	}
	// driverMsg is a message one of the entry's drivers produced
	// ({"uart/line": "HELLO"}), or the outcome of the program's own
	// driver line ({"info": "uart started"}, {"error": ...}).
	driverMsg struct {
		Type string       `json:"type"` // "driver"
		Msg  wire.Message `json:"msg"`
	}
)

// encodeLine returns v as one line of compact JSON.
func encodeLine(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // every value here encodes
		panic("process: encode " + fmt.Sprintf("%T", v) + ": " + err.Error())
	}
	return b.Bytes()
}

// message is one line a program writes, of any type.
type message struct {
	Type  string        `json:"type"`
	Items []cmdapi.Item `json:"items"` // announce
	Keys  []cmdapi.Key  `json:"keys"`  // announce
	// Drivers (announce) are the entry's drivers whose messages the
	// program hears as driver lines.
	Drivers []string                   `json:"drivers"`
	To      string                     `json:"to"`     // reply
	Msg     map[string]json.RawMessage `json:"msg"`    // reply, broadcast
	State   map[string]json.RawMessage `json:"state"`  // state
	Driver  string                     `json:"driver"` // driver: its name
	Op      string                     `json:"op"`     // driver: start, stop or send
	Text    *string                    `json:"text"`   // driver: what send writes
}

// Limits of an announcement, so one cannot make help or the page huge.
const (
	maxItems = 200
	maxArgs  = 16
	maxKeys  = 500
	maxName  = 64
	maxDoc   = 500
)

// argTypes are the types an argument may declare.
var argTypes = []string{"string", "number", "integer", "boolean", "json"}

var errNotObject = errors.New("want one JSON object a line")

// decode parses one line from a program and checks it: its type and the
// keys that type needs. It never panics, whatever the line.
func decode(line []byte) (message, error) {
	var m message
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return m, errNotObject
	}
	if !utf8.Valid(line) { // clients would be closed for text that is not
		return m, errors.New("want UTF-8 text, got invalid bytes")
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("invalid JSON: %w", err)
	}
	switch m.Type {
	case "announce":
		return m, checkAnnounce(&m)
	case "reply":
		if m.To == "" {
			return m, errors.New(`reply: want "to", the client a request came "from"`)
		}
		return m, checkMsg(m.Msg)
	case "broadcast":
		return m, checkMsg(m.Msg)
	case "state":
		if m.State == nil {
			return m, errors.New(`state: want "state", an object of state keys`)
		}
		return m, checkKeys(m.State)
	case "driver":
		return m, checkDriver(m)
	case "":
		return m, errors.New(`want a "type": announce, reply, broadcast, state or driver`)
	}
	return m, fmt.Errorf("unknown type %q: want announce, reply, broadcast, state or driver", clip(m.Type))
}

// checkDriver checks a driver line: a driver's name and an op, with the
// text a send writes.
func checkDriver(m message) error {
	switch {
	case m.Driver == "":
		return errors.New(`driver: want "driver", the name of a driver the entry declares ("uart")`)
	case m.Op != "start" && m.Op != "stop" && m.Op != "send":
		return fmt.Errorf(`driver: want "op" start, stop or send, got %q`, clip(m.Op))
	case m.Op == "send" && m.Text == nil:
		return errors.New(`driver: send: want "text", the line to write`)
	}
	return nil
}

// checkMsg checks a reply's or broadcast's message: an object of keys.
func checkMsg(msg map[string]json.RawMessage) error {
	if len(msg) == 0 {
		return errors.New(`want "msg", a non-empty object of keys ({"sensor/msg": "hello"})`)
	}
	return checkKeys(msg)
}

// checkKeys refuses empty keys and keys holding control characters.
func checkKeys(m map[string]json.RawMessage) error {
	for k := range m {
		if k == "" || strings.ContainsFunc(k, unicode.IsControl) {
			return fmt.Errorf("key %q: want a key without control characters", clip(k))
		}
	}
	return nil
}

// checkAnnounce checks an announcement's items and keys, and marks the
// items as the app's.
func checkAnnounce(m *message) error {
	if len(m.Items) > maxItems || len(m.Keys) > maxKeys || len(m.Drivers) > maxItems {
		return fmt.Errorf("announce: %d items, %d keys and %d drivers: want at most %d, %d and %d",
			len(m.Items), len(m.Keys), len(m.Drivers), maxItems, maxKeys, maxItems)
	}
	seen := map[string]bool{}
	for i := range m.Items {
		it := &m.Items[i]
		if err := checkItem(it); err != nil {
			return fmt.Errorf("announce: item %d: %w", i+1, err)
		}
		if seen[it.Kind+" "+it.Name] {
			return fmt.Errorf("announce: item %d: %s %s announced twice", i+1, it.Kind, it.Name)
		}
		seen[it.Kind+" "+it.Name] = true
		it.App = true
	}
	for i, k := range m.Keys {
		if k.Key == "" || len(k.Key) > 256 || strings.ContainsFunc(k.Key, unicode.IsControl) || len(k.Doc) > maxDoc {
			return fmt.Errorf("announce: key %d: want a key of 1-256 characters without control characters, and a doc of at most %d", i+1, maxDoc)
		}
	}
	return nil
}

// checkItem checks one announced item.
func checkItem(it *cmdapi.Item) error {
	if it.Kind != wire.Get && it.Kind != wire.Cmd {
		return fmt.Errorf(`kind: want "GET" or "CMD", got %q`, clip(it.Kind))
	}
	if !isItemName(it.Name) {
		return fmt.Errorf("name %q: want 1-%d letters, digits, '_', '-', '.' or '/'", clip(it.Name), maxName)
	}
	if len(it.Doc) > maxDoc || len(it.Args) > maxArgs {
		return fmt.Errorf("%s %s: want a doc of at most %d bytes and at most %d arguments", it.Kind, it.Name, maxDoc, maxArgs)
	}
	if it.Args == nil {
		it.Args = []cmdapi.Arg{}
	}
	optional := false
	for j, a := range it.Args {
		if a.Name == "" || len(a.Name) > maxName || len(a.Doc) > maxDoc {
			return fmt.Errorf("%s %s: argument %d: want a name of 1-%d bytes", it.Kind, it.Name, j+1, maxName)
		}
		if !contains(argTypes, a.Type) {
			return fmt.Errorf("%s %s: argument %d (%s): type %q: want one of %s", it.Kind, it.Name, j+1, a.Name, clip(a.Type), strings.Join(argTypes, ", "))
		}
		if optional && !a.Optional {
			return fmt.Errorf("%s %s: argument %d (%s): optional arguments come last", it.Kind, it.Name, j+1, a.Name)
		}
		optional = a.Optional
	}
	return nil
}

func isItemName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-./", r)))
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clip cuts what a program wrote to 40 bytes for a log line.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// checkArgs checks a request's arguments against the item's: their count
// and types. The error is the client's to read.
func checkArgs(it cmdapi.Item, req wire.Request) error {
	required := 0
	for _, a := range it.Args {
		if !a.Optional {
			required++
		}
	}
	if n := len(req.Args); n < required || n > len(it.Args) {
		names := make([]string, len(it.Args))
		for i, a := range it.Args {
			names[i] = a.Name
			if a.Optional {
				names[i] += "?"
			}
		}
		if required == len(it.Args) {
			return fmt.Errorf("%s %s: want %d arguments %v, got %d", req.Kind, req.Item, required, names, n)
		}
		return fmt.Errorf("%s %s: want %d to %d arguments %v, got %d", req.Kind, req.Item, required, len(it.Args), names, n)
	}
	for i, raw := range req.Args {
		a := it.Args[i]
		if !hasType(raw, a.Type) {
			return fmt.Errorf("%s %s: argument %d (%s): want %s, got %s", req.Kind, req.Item, i+1, a.Name, article(a.Type), clip(string(raw)))
		}
	}
	return nil
}

// hasType reports whether the JSON value raw is of type t.
func hasType(raw json.RawMessage, t string) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	switch t {
	case "string":
		return raw[0] == '"'
	case "boolean":
		return string(raw) == "true" || string(raw) == "false"
	case "number":
		return raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'
	case "integer":
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return false
		}
		_, err := n.Int64()
		return err == nil
	}
	return true // json: any value
}

func article(t string) string {
	switch t {
	case "integer":
		return "an integer"
	case "json":
		return "a JSON value"
	}
	return "a " + t
}
