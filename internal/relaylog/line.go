package relaylog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"tether/internal/redact"
)

// line is an Entry as written. A text payload is a JSON string (text), or
// its bytes in base64 (text_base64) when that is shorter: JSON writes most
// control characters as six bytes (\u0001), base64 any byte in 4/3.
// Binary payloads, and text that is not UTF-8, are base64 (binary).
// Masked says secrets in the payload were masked (so it is not the
// payload byte for byte).
type line struct {
	Time   string    `json:"time"`
	Dir    Direction `json:"dir"`
	Device string    `json:"device"`
	Text   *string   `json:"text,omitempty"`
	Text64 []byte    `json:"text_base64,omitempty"`
	Binary []byte    `json:"binary,omitempty"`
	Masked bool      `json:"masked,omitempty"`
	Page   string    `json:"page,omitempty"` // last: lines without it read as before
}

// encodeLine returns e as one line of JSON, newline included.
func encodeLine(e Entry) ([]byte, error) {
	ln := line{Time: e.Time.UTC().Format(time.RFC3339Nano), Dir: e.Dir, Device: e.Device, Page: e.Page}
	data := e.Data
	switch {
	case e.Binary || !utf8.Valid(data):
		ln.Binary = data
	default:
		data, ln.Masked = redact.Message(data)
		if escapedLen(data) > base64Len(len(data)) {
			ln.Text64 = data
		} else {
			s := string(data)
			ln.Text = &s
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ln); err != nil {
		return nil, fmt.Errorf("encode log line: %w", err)
	}
	return buf.Bytes(), nil
}

// escapedLen is the length of s as a JSON string's contents, as
// encoding/json writes it without HTML escaping.
func escapedLen(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n += 2
		case c < 0x20:
			n += 6
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9): // U+2028, U+2029
			n += 6
			i += 3
			continue
		default:
			n++
		}
		i++
	}
	return n
}

func base64Len(n int) int { return (n + 2) / 3 * 4 }
