package bench

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// A relay message starts with a 24-byte header: the magic "TBR1", the
// stream (the sender's index, with the top bit set for page→device), the
// sequence number from 0, and the send time in nanoseconds since the run
// started. The rest is filler up to the message size.
const (
	headerSize = 24
	upBit      = 1 << 31
)

var magic = [4]byte{'T', 'B', 'R', '1'}

func putHeader(p []byte, stream uint32, seq uint64, sentAt time.Duration) {
	copy(p, magic[:])
	binary.BigEndian.PutUint32(p[4:], stream)
	binary.BigEndian.PutUint64(p[8:], seq)
	binary.BigEndian.PutUint64(p[16:], uint64(sentAt))
}

// parseHeader reads a relay message's header; ok is false for anything
// else (presence events, a device's shadow, foreign traffic).
func parseHeader(p []byte) (stream uint32, seq uint64, sentAt time.Duration, ok bool) {
	if len(p) < headerSize || [4]byte(p[:4]) != magic {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint64(p[8:]), time.Duration(binary.BigEndian.Uint64(p[16:])), true
}

// seqCheck follows one stream at one receiver; only that receiver's reader
// touches it.
type seqCheck struct {
	next       uint64
	received   uint64
	outOfOrder uint64
}

// see records seq arriving.
func (s *seqCheck) see(seq uint64) {
	s.received++
	switch {
	case seq >= s.next:
		s.next = seq + 1
	default:
		s.outOfOrder++
	}
}

// sender is one stream's sending side: what it sent, and for a closed
// loop a window of messages in flight, each with the receivers that have
// not seen it yet, and a credit for every free place in the window.
type sender struct {
	sent atomic.Uint64

	mu      sync.Mutex
	slots   []slot // message seq is at seq % len(slots)
	credits chan struct{}
}

type slot struct {
	seq  uint64
	owed int // receivers that have not seen it; 0 when the place is free
}

// newSender makes a sender with window places (at least 1), all free.
func newSender(window int) *sender {
	window = max(window, 1)
	s := &sender{slots: make([]slot, window), credits: make(chan struct{}, window)}
	for range window {
		s.credits <- struct{}{}
	}
	return s
}

// arm says seq is about to be sent to n receivers. A message still owed
// in its place (lost, or its sender stopped waiting) is given up.
func (s *sender) arm(seq uint64, n int) {
	s.mu.Lock()
	s.slots[seq%uint64(len(s.slots))] = slot{seq: seq, owed: n}
	s.mu.Unlock()
}

// ack tells the sender that one receiver saw seq; the last one frees its
// place in the window.
func (s *sender) ack(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := &s.slots[seq%uint64(len(s.slots))]
	if sl.seq != seq || sl.owed == 0 {
		return
	}
	sl.owed--
	if sl.owed == 0 {
		select {
		case s.credits <- struct{}{}:
		default:
		}
	}
}
