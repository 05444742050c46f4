// Package wsframe reads and writes the bytes of WebSocket frames (RFC 6455
// section 5.2): parsing a header without trusting it, appending a header,
// and masking. It does no I/O and keeps no state, so the hub's connection
// layer (internal/hub/hubws), the load generator (internal/bench) and
// tether ws -v's frame log (internal/wsclient) share one codec; what a
// frame may be (which opcodes, masked or not, how long) is their policy,
// checked on the Header it returns.
package wsframe

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// MaxHeader is the longest frame header: 2 bytes, an 8-byte length and a
// 4-byte mask key.
const MaxHeader = 14

// MaxControl is the longest control frame payload.
const MaxControl = 125

// ErrLength is a 64-bit payload length with its most significant bit set,
// which RFC 6455 forbids (and which a signed length would read as negative).
var ErrLength = errors.New("frame length has its most significant bit set")

// Header is one frame's header.
type Header struct {
	Fin    bool
	RSV    byte // the three reserved bits, 0x70 of the first byte
	Op     byte
	Masked bool
	Key    [4]byte
	// Len is the payload length; at most 1<<63-1.
	Len int64
}

// IsControl reports whether the frame is a control frame (close, ping,
// pong, or a reserved control opcode).
func (h Header) IsControl() bool { return h.Op&0x8 != 0 }

// Parse reads a header from the start of b. It returns the header and its
// size, or size 0 when b is too short to hold the whole header; err is
// ErrLength for a length no frame may have. It never reads past b.
func Parse(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.RSV = b[0] & 0x70
	h.Op = b[0] & 0x0f
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Len = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		l64 := binary.BigEndian.Uint64(b[2:])
		if l64>>63 != 0 {
			return h, 0, ErrLength
		}
		h.Len = int64(l64)
		n = 10
	default:
		h.Len = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// AppendHeader appends the header of a frame with opcode op and a payload
// of length bytes, final when fin; masked with key when key is not nil.
func AppendHeader(dst []byte, fin bool, op byte, length int, key *[4]byte) []byte {
	b0 := op & 0x0f
	if fin {
		b0 |= 0x80
	}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch {
	case length < 126:
		dst = append(dst, b0, m|byte(length))
	case length < 1<<16:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if key != nil {
		dst = append(dst, key[:]...)
	}
	return dst
}

// Mask XORs b in place with key, starting at byte pos of the key's cycle
// (0 for a frame's first payload byte), and returns the position after b,
// for masking a payload in parts.
func Mask(key [4]byte, pos int, b []byte) int {
	k := binary.LittleEndian.Uint32(key[:])
	k = bits.RotateLeft32(k, -8*(pos&3))
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+32 <= len(b); i += 32 {
		v := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(v, binary.LittleEndian.Uint64(v)^k64)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k64)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k64)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k64)
	}
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= byte(k)
		k = bits.RotateLeft32(k, -8)
	}
	return (pos + len(b)) & 3
}

// CloseCodeValid reports whether a peer may send close code c in a close
// frame (RFC 6455 section 7.4: 1000-1003, 1007-1011, 3000-4999).
func CloseCodeValid(c int) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1011, c >= 3000 && c <= 4999:
		return true
	}
	return false
}
