package hubws

import (
	"net"
	"sync"
	"time"
)

// flushAt is how much a held batch buffers before it is written anyway.
const flushAt = 64 << 10

var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, flushAt+4<<10); return &b }}

// batchConn is the socket under a gws connection. Writes go straight
// through, except between hold and flush, when they gather in a pooled
// buffer (taken only while holding, so an idle connection has none).
// Every Write is a whole frame (gws serialises its writes), and the
// buffer is written before the socket closes, so frames never interleave
// or get lost.
type batchConn struct {
	net.Conn
	onRead  func() // called before each read of the socket, set once before reading starts
	mu      sync.Mutex
	closed  bool // a close frame was written: no frame may follow
	holding bool
	buf     *[]byte
}

func (c *batchConn) Read(p []byte) (int, error) {
	if c.onRead != nil {
		c.onRead()
	}
	return c.Conn.Read(p)
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(p) > 0 && p[0] == 0x88 { // a final close frame
		c.closed = true
	}
	if !c.holding {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= flushAt {
		return len(p), c.writeLocked()
	}
	return len(p), nil
}

// closeWith writes a close frame with code and reason (at most 123 bytes)
// within a second; the frames gws writes after it are refused.
func (c *batchConn) closeWith(code int, reason string) {
	reason = reason[:min(len(reason), 123)]
	f := append([]byte{0x88, byte(2 + len(reason)), byte(code >> 8), byte(code)}, reason...)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(f)
}

func (c *batchConn) writeLocked() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

func (c *batchConn) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = true
	if c.buf == nil {
		c.buf = batchBufs.Get().(*[]byte)
	}
}

func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	err := c.writeLocked()
	c.release()
	return err
}

// release returns the buffer to the pool; called with c.mu held.
func (c *batchConn) release() {
	if c.buf != nil {
		*c.buf = (*c.buf)[:0]
		batchBufs.Put(c.buf)
		c.buf = nil
	}
}

func (c *batchConn) Close() error {
	c.mu.Lock()
	c.holding = false
	c.writeLocked()
	c.release()
	c.mu.Unlock()
	return c.Conn.Close()
}
