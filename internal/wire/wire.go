// Package wire is the seed's command protocol on the wire, without I/O.
//
// A client sends a text message holding a JSON array of three elements,
// ["GET", item, args] or ["CMD", item, args], where item is a string and args
// an array (possibly empty). The device answers with JSON objects of flat
// keys: {"info": "..."}, {"error": "..."}, or data keys such as
// {"wifi/net/ip": "192.168.1.7"}. Decode turns a request into a Request or an
// error that says what was wrong, worded for the person who sent it.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Request kinds.
const (
	Get = "GET"
	Cmd = "CMD"
)

// Request is one decoded command.
type Request struct {
	Kind string            // Get or Cmd
	Item string            // "wifi", "send_message"
	Args []json.RawMessage // the arguments, each still JSON
}

// String renders r as it would be sent, for logs.
func (r Request) String() string {
	args, _ := json.Marshal(r.Args)
	if r.Args == nil {
		args = []byte("[]")
	}
	kind, _ := json.Marshal(r.Kind)
	item, _ := json.Marshal(r.Item)
	return fmt.Sprintf("[%s, %s, %s]", kind, item, args)
}

// Message is one reply or state object: flat keys to JSON values.
type Message map[string]any

// Info is a {"info": text} message.
func Info(text string) Message { return Message{"info": text} }

// Error is an {"error": text} message.
func Error(text string) Message { return Message{"error": text} }

// Encode returns m as JSON. Keys come out sorted; values that cannot be
// encoded become an {"error": ...} message instead.
func Encode(m Message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		b, _ = json.Marshal(Error("encode reply: " + err.Error()))
	}
	return b
}

// ErrBadRequest is wrapped by every error Decode returns.
var ErrBadRequest = errors.New("bad request")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, args...)...)
}

// Decode parses one request message.
func Decode(data []byte) (Request, error) {
	if !utf8.Valid(data) {
		return Request{}, badf("want UTF-8 text, got invalid bytes")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil || elems == nil {
		return Request{}, badf("want a JSON array [kind, item, args], got %s", describe(data))
	}
	if len(elems) != 3 {
		return Request{}, badf("want 3 elements [kind, item, args], got %d", len(elems))
	}
	var r Request
	if err := json.Unmarshal(elems[0], &r.Kind); err != nil || (r.Kind != Get && r.Kind != Cmd) {
		return Request{}, badf("element 1: want \"GET\" or \"CMD\", got %s", clip(elems[0]))
	}
	if err := json.Unmarshal(elems[1], &r.Item); err != nil || r.Item == "" {
		return Request{}, badf("element 2: want the item name as a string, got %s", clip(elems[1]))
	}
	if err := json.Unmarshal(elems[2], &r.Args); err != nil || r.Args == nil {
		return Request{}, badf("element 3: want the arguments as an array, got %s", clip(elems[2]))
	}
	return r, nil
}

// describe names what data is when it is not a JSON array.
func describe(data []byte) string {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return "an empty message"
	}
	if !json.Valid(t) {
		return "text that is not JSON: " + clip(t)
	}
	switch t[0] {
	case '{':
		return "an object"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// clip quotes at most 40 bytes of raw input for an error message.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		b = append(b[:max:max], "…"...)
	}
	return fmt.Sprintf("%q", b)
}
