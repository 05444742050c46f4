package hubws

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"tether/internal/wsframe"
)

// driver is what moves a connection's bytes: an event loop's socket
// (loop_linux.go) or a goroutine over a net.Conn (stream.go).
type driver interface {
	// start begins reading; events go to c's handler.
	start(c *conn)
	// write writes what it can of b at once, without blocking; it returns
	// errWouldBlock (with the count written) when the socket is full, and
	// the stream driver, which never writes inline, always does.
	write(b []byte) (int, error)
	// wantWrite asks to have c.writable called once the socket can take
	// more, until it has written everything (called with c.mu held).
	wantWrite()
	// shutWrite ends the sending side after the close frame (c.mu held).
	shutWrite()
	// abort makes the reader end the connection soon (c.mu held).
	abort()
	// later reports whether the write may wait for the end of the event
	// loop's current round, which then flushes it (c.mu held).
	later() bool
}

// errWouldBlock is a write the socket could not take at once.
var errWouldBlock = errors.New("socket full")

// closeWait bounds how long a closing connection waits for its close frame
// to be written and the peer's answer.
const closeWait = time.Second

// conn is one connection: the reading state, touched only by the
// goroutine delivering its events, and the writing state under mu.
type conn struct {
	h      Handler
	max    int // largest message
	remote net.Addr
	drv    driver
	done   func()

	// reading state
	rbuf   []byte // the start of a frame not complete yet; nil between frames
	frag   []byte // a fragmented message so far
	fragOp byte   // its opcode; 0 when none is in progress
	broken bool   // a bad frame or a panic: the rest is read and dropped

	mu        sync.Mutex
	out       []byte // framed bytes waiting for the socket; nil when none
	held      bool
	waiting   bool // the driver will call writable (the socket was full)
	closing   bool // a close frame is queued: nothing may follow it
	peerClose bool // the peer's close frame was read
	closeCode int  // the peer's close code and reason
	closeWhy  string
	shut      bool  // the write side was shut after the close frame
	gone      bool  // the socket is closed
	werr      error // why writes stopped, when they failed
	panicked  *PanicError
	deadline  time.Time // for data waiting
	timer     *time.Timer
	ended     bool // OnClose was delivered
}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// takeOut returns c.out with room, from the pool when c has none (c.mu held).
func (c *conn) takeOut() []byte {
	if c.out == nil {
		c.out = (*outPool.Get().(*[]byte))[:0]
	}
	return c.out
}

// releaseOut gives an empty c.out back to the pool (c.mu held).
func (c *conn) releaseOut() {
	if c.out != nil && len(c.out) == 0 {
		if cap(c.out) <= 64<<10 {
			b := c.out
			outPool.Put(&b)
		}
		c.out = nil
	}
}

func (c *conn) Start(done func()) {
	c.done = done
	c.drv.start(c)
}

func (c *conn) Write(kind Kind, p []byte) error {
	return c.frame(byte(kind), p)
}

func (c *conn) Ping(p []byte) error {
	return c.frame(wsframe.OpPing, p[:min(len(p), wsframe.MaxControl)])
}
func (c *conn) Pong(p []byte) error {
	return c.frame(wsframe.OpPong, p[:min(len(p), wsframe.MaxControl)])
}

// frame queues one frame with opcode op and payload p and writes it
// unless held.
func (c *conn) frame(op byte, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refused(); err != nil {
		return err
	}
	b := wsframe.AppendHeader(c.takeOut(), true, op, len(p), nil)
	c.out = append(b, p...)
	return c.flushLocked()
}

func (c *conn) WritePrepared(m *Prepared) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refused(); err != nil {
		return err
	}
	if len(c.out) == 0 && !c.held && !c.waiting && !c.drv.later() {
		// straight from the shared frame, no copy
		n, err := c.drv.write(m.frame)
		if err == nil || !errors.Is(err, errWouldBlock) {
			return c.wrote(err)
		}
		m = &Prepared{frame: m.frame[n:]}
	}
	c.out = append(c.takeOut(), m.frame...)
	return c.flushLocked()
}

// refused returns why a frame may not be written now (c.mu held).
func (c *conn) refused() error {
	switch {
	case c.werr != nil:
		return c.werr
	case c.closing || c.gone:
		return net.ErrClosed
	}
	return nil
}

func (c *conn) Hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

func (c *conn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	if c.werr != nil {
		return c.werr
	}
	return c.flushLocked()
}

func (c *conn) Pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *conn) RemoteAddr() net.Addr { return c.remote }

// flushLocked writes c.out unless held or already waiting for the socket;
// what the socket does not take waits for writable (c.mu held).
func (c *conn) flushLocked() error {
	if c.held || c.waiting || len(c.out) == 0 || c.drv.later() {
		return nil
	}
	n, err := c.drv.write(c.out)
	if errors.Is(err, errWouldBlock) {
		c.out = c.out[:copy(c.out, c.out[n:])]
		c.waiting = true
		c.drv.wantWrite()
		c.armTimer()
		return nil
	}
	c.out = c.out[:0]
	c.releaseOut()
	return c.wrote(err)
}

// wrote finishes a write that did not have to wait: err ends writing, and
// a close frame written completely shuts the sending side (c.mu held).
func (c *conn) wrote(err error) error {
	if err != nil {
		c.failWrite(err)
		return err
	}
	if c.closing && !c.shut && len(c.out) == 0 {
		c.shut = true
		c.drv.shutWrite()
	}
	return nil
}

// failWrite stops writing after err and has the reader end the connection
// (c.mu held).
func (c *conn) failWrite(err error) {
	if c.werr == nil {
		c.werr = err
	}
	c.out = nil
	c.waiting = false
	if !c.gone {
		c.drv.abort()
	}
}

// writable writes what waits, now that the socket takes more; it reports
// whether everything has gone (the caller then delivers OnDrain, unless
// the connection is closing).
func (c *conn) writable(write func([]byte) (int, error)) (drained bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.waiting {
		return false
	}
	n, err := write(c.out)
	switch {
	case errors.Is(err, errWouldBlock):
		c.out = c.out[:copy(c.out, c.out[n:])]
		return false
	case err != nil:
		c.failWrite(err)
		return false
	}
	c.out = c.out[:0]
	c.waiting = false
	c.stopTimer()
	if c.held {
		return !c.closing
	}
	c.releaseOut()
	c.wrote(nil)
	return !c.closing
}

// armTimer ends the connection if data still waits at the write deadline
// (or a second after a close frame was queued) (c.mu held).
func (c *conn) armTimer() {
	d := time.Until(c.deadline)
	if c.closing || c.deadline.IsZero() {
		d = closeWait
	}
	if c.timer != nil {
		c.timer.Reset(d)
		return
	}
	c.timer = time.AfterFunc(d, c.expired)
}

func (c *conn) stopTimer() {
	if c.timer != nil && !c.closing {
		c.timer.Stop()
	}
}

// expired ends a connection whose written data waited past its deadline,
// or that is still open a second after its close frame.
func (c *conn) expired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return
	}
	if c.waiting && !c.closing && c.werr == nil {
		c.werr = os.ErrDeadlineExceeded
	}
	c.failWrite(net.ErrClosed)
}

// Close queues a close frame and ends the connection when the peer
// answers, or within a second.
func (c *conn) Close(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked(code, reason)
}

func (c *conn) closeLocked(code int, reason string) error {
	if c.closing || c.gone {
		return nil
	}
	var p []byte
	if code != 0 {
		reason = reason[:min(len(reason), wsframe.MaxControl-2)]
		p = binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
		p = append(p, reason...)
	}
	b := wsframe.AppendHeader(c.takeOut(), true, wsframe.OpClose, len(p), nil)
	c.out = append(b, p...)
	c.closing, c.held = true, false
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.armTimer()
	if c.werr != nil {
		return nil
	}
	return c.flushLocked()
}

// end closes the socket with close (once) and delivers OnClose; it runs on
// the goroutine delivering the connection's events, last.
func (c *conn) end(closeSocket func(), err error) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.gone = true, true
	closeSocket()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.werr != nil && err == nil || errors.Is(c.werr, os.ErrDeadlineExceeded) {
		err = c.werr
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil // ended by our own close
	}
	if c.panicked != nil {
		err = c.panicked
	}
	code, why := c.closeCode, c.closeWhy
	c.out, c.rbuf, c.frag = nil, nil, nil
	c.mu.Unlock()
	c.h.OnClose(code, why, err)
	if c.done != nil {
		c.done()
	}
}
