package hubws

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"unicode/utf8"

	"tether/internal/wsframe"
)

// The reading side: bytes from the socket, in whatever pieces they come,
// are cut into frames, checked, unmasked and delivered. A frame's header is
// checked as soon as it is complete, before its payload is waited for, so a
// frame over the limit is refused without reading it. A frame split across
// reads waits in c.rbuf; between frames a connection holds no buffer.

// rbufKeep is the largest frame buffer kept (pooled) between frames.
const rbufKeep = 4 << 10

// consume feeds data, then tells the handler the batch is delivered
// (OnReadWait): what a reader does with every read. It reports true when
// the connection is over.
func (c *conn) consume(data []byte) (over bool) {
	over = c.feed(data)
	c.h.OnReadWait()
	return over
}

// feed delivers the frames in data (bytes just read, valid during the
// call) and keeps an incomplete last one. It reports true when the
// connection is over: the peer's close frame was answered.
func (c *conn) feed(data []byte) (over bool) {
	defer c.recoverRead()
	if c.broken {
		return false
	}
	for len(c.rbuf) > 0 && len(data) > 0 {
		h, n, err := wsframe.Parse(c.rbuf)
		if err == nil && n == 0 {
			// the header is cut: complete it, and give back what came
			// past it (the payload and next frames are taken below)
			had := len(c.rbuf)
			take := min(len(data), wsframe.MaxHeader-had)
			c.rbuf = append(c.rbuf, data[:take]...)
			if h, n, err = wsframe.Parse(c.rbuf); err == nil && n == 0 {
				data = data[take:] // still cut: data is all used
				continue
			}
			if err == nil {
				c.rbuf, data = c.rbuf[:n], data[n-had:]
			}
		}
		if c.refuse(h, err) {
			c.dropRbuf()
			return false
		}
		total := n + int(h.Len)
		take := min(len(data), total-len(c.rbuf))
		c.rbuf, data = append(c.rbuf, data[:take]...), data[take:]
		if len(c.rbuf) < total {
			return false
		}
		over = c.onFrame(h, c.rbuf[n:total])
		c.rbuf = c.rbuf[:copy(c.rbuf, c.rbuf[total:])]
		if over || c.broken {
			c.dropRbuf()
			return over
		}
	}
	if len(c.rbuf) == 0 {
		c.dropRbuf()
	}
	for len(data) > 0 && !c.broken {
		h, n, err := wsframe.Parse(data)
		if err == nil && n == 0 {
			c.keep(data, 0)
			return false
		}
		if c.refuse(h, err) {
			return false
		}
		total := n + int(h.Len)
		if len(data) < total {
			c.keep(data, total)
			return false
		}
		if c.onFrame(h, data[n:total]) {
			return true
		}
		data = data[total:]
	}
	return false
}

// keep saves the start of a frame of total bytes (0: not known yet).
func (c *conn) keep(b []byte, total int) {
	if total > rbufKeep {
		c.rbuf = append(make([]byte, 0, total), b...)
		return
	}
	c.rbuf = append((*outPool.Get().(*[]byte))[:0], b...)
}

func (c *conn) dropRbuf() {
	if c.rbuf != nil && cap(c.rbuf) <= rbufKeep {
		b := c.rbuf[:0]
		outPool.Put(&b)
	}
	c.rbuf = nil
}

// refuse checks a complete frame header and fails the connection when it
// breaks the protocol or the message limit; it reports whether it did.
func (c *conn) refuse(h wsframe.Header, err error) bool {
	code, reason := CodeProtocolError, ""
	switch {
	case err != nil:
		reason = err.Error()
	case h.RSV != 0:
		reason = "reserved bits set (no extension was negotiated)"
	case !h.Masked:
		reason = "client frame not masked"
	case h.IsControl() && h.Op > wsframe.OpPong, !h.IsControl() && h.Op > wsframe.OpBinary:
		reason = fmt.Sprintf("reserved opcode %#x", h.Op)
	case h.IsControl() && !h.Fin:
		reason = "fragmented control frame"
	case h.IsControl() && h.Len > wsframe.MaxControl:
		reason = "control frame over 125 bytes"
	case h.IsControl():
	case h.Op == wsframe.OpContinuation && c.fragOp == 0:
		reason = "continuation frame without a message to continue"
	case h.Op != wsframe.OpContinuation && c.fragOp != 0:
		reason = "new message inside a fragmented one"
	case h.Len > int64(c.max-len(c.frag)):
		code, reason = CodeTooBig, fmt.Sprintf("message over the %d-byte limit", c.max)
	}
	if reason == "" {
		return false
	}
	c.fail(code, reason)
	return true
}

// fail sends a close frame with code and reason and stops delivering: the
// rest of the stream is read and dropped until the peer ends it, or a
// second passes.
func (c *conn) fail(code int, reason string) {
	c.broken = true
	c.frag, c.fragOp = nil, 0
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

// onFrame delivers one complete frame whose payload p is still masked; it
// reports true when the connection is over.
func (c *conn) onFrame(h wsframe.Header, p []byte) (over bool) {
	wsframe.Mask(h.Key, 0, p)
	closing := c.isClosing()
	switch h.Op {
	case wsframe.OpClose:
		return c.peerClosed(p)
	case wsframe.OpPing:
		if !closing {
			c.h.OnPing(p)
		}
	case wsframe.OpPong:
		c.h.OnPong(p)
	case wsframe.OpText, wsframe.OpBinary:
		if !h.Fin {
			c.fragOp = h.Op
			c.frag = append(c.frag[:0], p...)
			return false
		}
		c.deliver(h.Op, p, closing)
	case wsframe.OpContinuation:
		c.frag = append(c.frag, p...)
		if h.Fin {
			op, msg := c.fragOp, c.frag
			c.frag, c.fragOp = nil, 0
			c.deliver(op, msg, closing)
		}
	}
	return false
}

// deliver hands a data message to the handler, after checking a text
// message's UTF-8; nothing is delivered once the connection is closing.
func (c *conn) deliver(op byte, p []byte, closing bool) {
	if op == wsframe.OpText && !utf8.Valid(p) {
		c.fail(CodeInvalidPayload, "text message is not valid UTF-8")
		return
	}
	if !closing {
		c.h.OnMessage(Kind(op), p)
	}
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// peerClosed answers the peer's close frame p (the same code, or 1002 for
// a malformed one) and reports true when the connection can end now: the
// answer (or ours, sent earlier) is written.
func (c *conn) peerClosed(p []byte) bool {
	code, reason := 0, ""
	switch {
	case len(p) == 1:
		c.fail(CodeProtocolError, "close frame of one byte")
		return false
	case len(p) >= 2:
		code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		if !wsframe.CloseCodeValid(code) {
			c.fail(CodeProtocolError, fmt.Sprintf("close code %d is not one a peer may send", code))
			return false
		}
		if !utf8.ValidString(reason) {
			c.fail(CodeInvalidPayload, "close reason is not valid UTF-8")
			return false
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.peerClose, c.closeCode, c.closeWhy = true, code, reason
	c.closeLocked(code, reason)
	return !c.waiting && len(c.out) == 0 // else it ends once written (or in a second)
}

// recoverRead turns a panic while reading into the end of this connection
// only: close 1011, and OnClose with a *PanicError.
func (c *conn) recoverRead() {
	v := recover()
	if v == nil {
		return
	}
	c.broken = true
	c.mu.Lock()
	c.panicked = &PanicError{Value: v, Stack: debug.Stack()}
	c.closeLocked(CodeInternalError, "internal error")
	c.mu.Unlock()
}
