// Package mqtt is a minimal MQTT 3.1.1 client over WebSocket, enough for
// tether bench to drive a broker such as Mosquitto the way it drives the
// hub: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH at QoS 0,
// PINGREQ/PINGRESP and DISCONNECT. The codec (this file) does no I/O; the
// Client speaks it over a WebSocket with the "mqtt" subprotocol, as a byte
// stream of binary messages (a packet may span messages, a message may
// hold several packets).
package mqtt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types (the high nibble of the first byte).
const (
	Connect     = 1
	Connack     = 2
	Publish     = 3
	Subscribe   = 8
	Suback      = 9
	Pingreq     = 12
	Pingresp    = 13
	Disconnect  = 14
	maxLength   = 268435455 // largest remaining length the format allows
	protocolLvl = 4         // MQTT 3.1.1
)

// appendLength appends n as the variable-length "remaining length".
func appendLength(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// AppendConnect appends a CONNECT with a clean session, clientID and a
// keep-alive in seconds (0 turns it off).
func AppendConnect(b []byte, clientID string, keepAlive uint16) []byte {
	n := 10 + 2 + len(clientID)
	b = appendLength(append(b, Connect<<4), n)
	b = appendString(b, "MQTT")
	b = append(b, protocolLvl, 0x02) // level, flags: clean session
	b = binary.BigEndian.AppendUint16(b, keepAlive)
	return appendString(b, clientID)
}

// AppendSubscribe appends a SUBSCRIBE of one topic filter at QoS 0.
func AppendSubscribe(b []byte, id uint16, topic string) []byte {
	b = appendLength(append(b, Subscribe<<4|0x02), 2+2+len(topic)+1)
	b = binary.BigEndian.AppendUint16(b, id)
	return append(appendString(b, topic), 0)
}

// AppendPublish appends a PUBLISH of payload to topic at QoS 0.
func AppendPublish(b []byte, topic string, payload []byte) []byte {
	b = appendLength(append(b, Publish<<4), 2+len(topic)+len(payload))
	return append(appendString(b, topic), payload...)
}

// AppendPingreq appends a PINGREQ packet (two bytes).
func AppendPingreq(b []byte) []byte { return append(b, Pingreq<<4, 0) }

// AppendDisconnect appends a DISCONNECT packet (two bytes).
func AppendDisconnect(b []byte) []byte { return append(b, Disconnect<<4, 0) }

// Packet is one packet read: its type, the low nibble of its first byte,
// and its body after the fixed header (valid until the next ReadPacket
// with the same buffer).
type Packet struct {
	Type  byte
	Flags byte
	Body  []byte
}

// ErrMalformed is a packet that breaks the format.
var ErrMalformed = errors.New("malformed packet")

// ReadPacket reads one packet from r, growing buf for its body as needed;
// it returns the packet and the buffer for the next call.
func ReadPacket(r *bufio.Reader, buf []byte) (Packet, []byte, error) {
	h, err := r.ReadByte()
	if err != nil {
		return Packet{}, buf, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return Packet{}, buf, noEOF(err)
		}
		n += int(c&0x7f) * mult
		if c&0x80 == 0 {
			break
		}
		if i == 3 {
			return Packet{}, buf, fmt.Errorf("read remaining length: %w: more than 4 bytes", ErrMalformed)
		}
		mult *= 128
	}
	if cap(buf) < n {
		buf = make([]byte, n, max(n, 2*cap(buf)))
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return Packet{}, buf, noEOF(err)
	}
	return Packet{Type: h >> 4, Flags: h & 0x0f, Body: buf}, buf, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParsePublish splits a PUBLISH body into topic and payload.
func ParsePublish(p Packet) (topic string, payload []byte, err error) {
	b := p.Body
	if len(b) < 2 {
		return "", nil, fmt.Errorf("read publish: %w: %d-byte body", ErrMalformed, len(b))
	}
	tl := int(binary.BigEndian.Uint16(b))
	off := 2 + tl
	if qos := p.Flags >> 1 & 3; qos > 0 {
		off += 2 // packet identifier
	}
	if off > len(b) {
		return "", nil, fmt.Errorf("read publish: %w: topic of %d bytes in a %d-byte body", ErrMalformed, tl, len(b))
	}
	return string(b[2 : 2+tl]), b[off:], nil
}
