package hubws

import (
	"errors"
	"io"
	"net"
	"sync"
)

// stream drives a connection the event loops cannot take (TLS, or any
// net.Conn off Linux) with goroutines: one reads for the connection's
// life, one writes while something waits to be written. Its read buffer
// (Options.ReadBuffer) is held for the connection's life.
type stream struct {
	c       *conn
	nc      net.Conn // what is read and written (a *tls.Conn over raw, say)
	raw     net.Conn // the socket under nc, closed to stop everything at once
	bufSize int
	early   []byte

	flushing bool // under c.mu: the writer runs
	writers  sync.WaitGroup
}

func newStream(c *conn, nc net.Conn, bufSize int, early []byte) *stream {
	raw := nc
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok {
		raw = u.NetConn()
	}
	return &stream{c: c, nc: nc, raw: raw, bufSize: bufSize, early: early}
}

func (s *stream) start(c *conn) {
	done := c.done
	c.done = func() {
		s.writers.Wait()
		if done != nil {
			done()
		}
	}
	go s.read(c)
}

func (s *stream) read(c *conn) {
	if early := s.early; len(early) > 0 {
		s.early = nil
		if c.consume(early) {
			c.end(s.closeSocket, nil)
			return
		}
	}
	buf := make([]byte, s.bufSize)
	for {
		n, err := s.nc.Read(buf)
		if n > 0 {
			if c.consume(buf[:n]) {
				c.end(s.closeSocket, nil)
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			c.end(s.closeSocket, err)
			return
		}
	}
}

func (s *stream) closeSocket() { s.raw.Close() }

// write never writes inline: the writer goroutine does, so that a caller
// never blocks on this connection.
func (s *stream) write([]byte) (int, error) { return 0, errWouldBlock }

// wantWrite starts the writer unless it runs (c.mu held).
func (s *stream) wantWrite() {
	if !s.flushing {
		s.flushing = true
		s.writers.Add(1)
		go s.flush(s.c)
	}
}

// flush writes what waits until nothing does.
func (s *stream) flush(c *conn) {
	defer s.writers.Done()
	for {
		c.mu.Lock()
		if !c.waiting || c.gone || c.werr != nil {
			s.flushing = false
			c.mu.Unlock()
			return
		}
		b := c.out
		c.out = nil
		c.mu.Unlock()
		_, err := s.nc.Write(b)
		if cap(b) <= 64<<10 {
			b = b[:0]
			outPool.Put(&b)
		}
		c.mu.Lock()
		if err != nil {
			s.flushing = false
			c.failWrite(err)
			c.mu.Unlock()
			return
		}
		if len(c.out) > 0 {
			c.mu.Unlock()
			continue
		}
		c.waiting = false
		c.stopTimer()
		c.wrote(nil)
		s.flushing = false
		drained := !c.closing
		c.mu.Unlock()
		if drained {
			c.h.OnDrain()
		}
		return
	}
}

func (s *stream) shutWrite() {
	if cw, ok := s.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

func (s *stream) abort() { s.raw.Close() }

func (s *stream) later() bool { return false }
