// Package pagetag is the page identity extension of the call-home link
// (docs/PROTOCOL.md, "Page identity through a hub"): a device that offers
// the WebSocket subprotocol Subprotocol when it calls home, and a hub that
// grants it, address page messages by page. Every message the hub sends
// such a device comes from one page, tagged with the page's id (Tag:
// '@', the id, a newline, then the page's message byte for byte), except
// the hub's own notices, which are untagged JSON objects (Gone); a message
// the device sends tagged goes to that one page only, without the tag, and
// an untagged one to every page, as before.
//
// A link without the subprotocol (the seed's firmware, a home of the
// seed's kind, an older hub or device) carries the seed's wire unchanged.
// No I/O here: the hub and the device's command API use it.
package pagetag

import (
	"bytes"
	"encoding/json"
)

// Subprotocol is what a device offers in Sec-WebSocket-Protocol when it
// calls home, and what a hub that tags pages answers.
const Subprotocol = "tether.pages.v1"

// MaxID is the longest page id, in bytes.
const MaxID = 128

// Mark is the first byte of a tagged message.
const Mark = '@'

// ValidID reports whether id may name a page: 1 to MaxID bytes of
// printable ASCII without spaces ('!' to '~').
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Tag returns msg addressed to page id: '@' + id + '\n' + msg, in a new
// slice. An empty id tags a message the hub cannot name a page for.
func Tag(id string, msg []byte) []byte {
	b := make([]byte, 0, len(id)+2+len(msg))
	b = append(b, Mark)
	b = append(b, id...)
	b = append(b, '\n')
	return append(b, msg...)
}

// Split takes a message apart: tagged is false when it does not start
// with '@' (msg is then data as it is); otherwise ok says whether the tag
// is well formed (a valid id, or none, and a newline) and id and msg are
// the page and the message without the tag (msg shares data's storage).
func Split(data []byte) (id string, msg []byte, tagged, ok bool) {
	if len(data) == 0 || data[0] != Mark {
		return "", data, false, true
	}
	end := bytes.IndexByte(data[1:min(len(data), MaxID+2)], '\n')
	if end < 0 {
		return "", nil, true, false
	}
	id = string(data[1 : 1+end])
	if id != "" && !ValidID(id) {
		return "", nil, true, false
	}
	return id, data[2+end:], true, true
}

// goneKey is the key of the hub's notice that a page went.
const goneKey = "hub/page/gone"

// Gone is the hub's notice that page id went: {"hub/page/gone": id}.
func Gone(id string) []byte {
	b, _ := json.Marshal(map[string]string{goneKey: id})
	return b
}

// ParseGone returns the page a Gone notice names; ok is false for any
// other message.
func ParseGone(data []byte) (id string, ok bool) {
	if !bytes.Contains(data, []byte(goneKey)) {
		return "", false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || len(m) != 1 {
		return "", false
	}
	if json.Unmarshal(m[goneKey], &id) != nil || !ValidID(id) {
		return "", false
	}
	return id, true
}
