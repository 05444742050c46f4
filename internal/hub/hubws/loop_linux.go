package hubws

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// The event loops: plain TCP connections leave Go's own poller once
// upgraded (their socket is duplicated and the net.Conn closed) and join
// one of a few epoll sets, each read by one goroutine into one buffer. So
// an idle connection costs its socket and its small state, no goroutine,
// no buffer.
//
// A loop's epoll set is itself waited on through Go's poller (os.File on
// the epoll descriptor, RawConn.Read), so a loop with nothing to do is a
// parked goroutine like any other, not a thread blocked in epoll_wait. A
// loop runs only while it has connections: the first one added starts its
// goroutine, which ends when the last one has gone.
//
// Sockets are closed only by their loop, after their last event, so a
// descriptor number is never reused while anyone may still use it; other
// goroutines end a connection by shutting its socket down, which the loop
// then reads as the end of the stream.

// loopBuffer is each loop's read buffer: many small frames a read.
const loopBuffer = 64 << 10

type engine struct {
	loops []*loop
	next  atomic.Uint32
}

func newEngine() *engine {
	e := &engine{loops: make([]*loop, max(runtime.GOMAXPROCS(0), 1))}
	for i := range e.loops {
		e.loops[i] = &loop{e: e, conns: map[int32]*sock{}}
	}
	return e
}

// adopt takes nc, a plain TCP connection, out of Go's poller for c; it
// returns false (and leaves nc alone) for any other kind of connection.
func (e *engine) adopt(nc net.Conn, c *conn, early []byte) (driver, bool, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, false, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, false, fmt.Errorf("adopt socket: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, _, derr = fcntl(int(s), syscall.F_DUPFD_CLOEXEC, 0)
	}); err != nil || derr != nil {
		return nil, false, fmt.Errorf("adopt socket: %w", errors.Join(err, derr))
	}
	nc.Close() // the duplicate keeps the socket; Go's poller lets go of it
	l := e.loops[int(e.next.Add(1))%len(e.loops)]
	return &sock{l: l, fd: fd, c: c, early: early}, true, nil
}

func fcntl(fd, cmd, arg int) (int, int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return -1, 0, errno
	}
	return int(r), 0, nil
}

// loop is one epoll set and the goroutine that reads it.
type loop struct {
	e       *engine
	mu      sync.Mutex
	conns   map[int32]*sock
	running bool
	ep      *os.File // the epoll descriptor, in Go's poller; nil while not running
	epfd    atomic.Int32
	buf     []byte
	events  []syscall.EpollEvent

	// While the loop serves a round of ready sockets, writes to its
	// sockets wait in their connection and go out at the round's end:
	// messages for one socket from several senders in one round take one
	// system call. Under mu.
	inRound bool
	dirty   []*sock

	// undrained is set by a round that left bytes in a socket (touched
	// only by the loop's goroutine)
	undrained bool
}

// sock is a connection's socket in a loop: the driver of its conn.
type sock struct {
	l     *loop
	fd    int
	c     *conn
	early []byte // read before the upgrade, delivered first

	// under c.mu
	dirty   bool // in l.dirty
	added   bool // in the epoll set
	wantOut bool // waiting for EPOLLOUT
	closed  bool // fd closed
}

const (
	evRead  = syscall.EPOLLIN | syscall.EPOLLRDHUP
	evWrite = syscall.EPOLLOUT
)

func (s *sock) start(c *conn) {
	if early := s.early; len(early) > 0 {
		s.early = nil
		if c.consume(early) {
			c.end(s.closeFD, nil)
			return
		}
	}
	if err := s.l.add(s); err != nil {
		c.end(s.closeFD, err)
	}
}

func (s *sock) write(b []byte) (int, error) {
	if s.closed {
		return 0, net.ErrClosed
	}
	n, err := rawWrite(s.fd, b)
	for err == syscall.EINTR {
		n, err = rawWrite(s.fd, b)
	}
	switch {
	case err == syscall.EAGAIN:
		return 0, errWouldBlock
	case err != 0:
		return 0, os.NewSyscallError("write", err)
	case n < len(b):
		return n, errWouldBlock
	}
	return n, nil
}

func (s *sock) wantWrite() {
	s.wantOut = true
	if s.added {
		s.l.ctl(syscall.EPOLL_CTL_MOD, s.fd, evRead|evWrite)
	}
}

func (s *sock) shutWrite() {
	if !s.closed {
		syscall.Shutdown(s.fd, syscall.SHUT_WR)
	}
}

func (s *sock) abort() {
	if !s.closed {
		syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
	}
}

// closeFD closes the socket (c.mu held), which also takes it out of the
// epoll set.
func (s *sock) closeFD() {
	if !s.closed {
		s.closed = true
		syscall.Close(s.fd)
	}
}

// add puts s in its loop's epoll set, starting the loop if it was idle.
// Lock order: a conn's mu before its loop's, never the other way.
func (l *loop) add(s *sock) error {
	l.mu.Lock()
	if !l.running {
		if err := l.open(); err != nil {
			l.mu.Unlock()
			return err
		}
		l.running = true
		go l.run(l.ep)
	}
	l.conns[int32(s.fd)] = s // the loop stays while s is here
	l.mu.Unlock()
	s.c.mu.Lock()
	ev := uint32(evRead)
	if s.wantOut {
		ev |= evWrite
	}
	err := l.ctl(syscall.EPOLL_CTL_ADD, s.fd, ev)
	s.added = err == nil
	s.c.mu.Unlock()
	if err != nil {
		l.mu.Lock()
		delete(l.conns, int32(s.fd))
		l.mu.Unlock()
		return fmt.Errorf("add socket to epoll: %w", err)
	}
	return nil
}

// open makes the loop's epoll set, waited on through Go's poller (l.mu held).
func (l *loop) open() error {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return os.NewSyscallError("set nonblock", err)
	}
	l.ep = os.NewFile(uintptr(fd), "epoll")
	l.epfd.Store(int32(fd))
	if l.buf == nil {
		l.buf = make([]byte, loopBuffer)
		l.events = make([]syscall.EpollEvent, 128)
	}
	return nil
}

// ctl changes the epoll set while the loop runs (it does while any of its
// sockets is in it).
func (l *loop) ctl(op, fd int, events uint32) error {
	return syscall.EpollCtl(int(l.epfd.Load()), op, fd, &syscall.EpollEvent{Events: events, Fd: int32(fd)})
}

// run waits on the epoll set through Go's poller and handles what is
// ready, until the loop has no connection left.
func (l *loop) run(ep *os.File) {
	rc, err := ep.SyscallConn()
	if err == nil {
		err = rc.Read(func(epfd uintptr) bool {
			for {
				n, err := rawEpollPoll(int(epfd), l.events)
				if err == syscall.EINTR {
					continue
				}
				if n <= 0 || err != 0 {
					return l.idle()
				}
				// Go's poller is told of the epoll set's edges (a socket
				// event added to the set), not of sockets still ready: once
				// a round has read every socket it served to the end, any
				// new byte is a new edge, so the loop may wait there at
				// once; otherwise it polls again until none is ready.
				if l.round(l.events[:n]) && n < len(l.events) {
					return l.idle()
				}
			}
		})
	}
	if err != nil {
		panic(fmt.Sprintf("hubws: epoll loop: %v", err)) // cannot happen with a valid epoll descriptor
	}
	ep.Close() // after Read: Close waits for the reads in progress
}

// round serves the ready sockets, then writes what was written to the
// loop's sockets meanwhile; it reports whether it read every socket it
// served to the end (none has bytes left that no new event will announce).
func (l *loop) round(events []syscall.EpollEvent) (drained bool) {
	l.undrained = false
	l.mu.Lock()
	l.inRound = true
	l.mu.Unlock()
	for _, ev := range events {
		l.handle(ev)
	}
	l.mu.Lock()
	l.inRound = false
	dirty := l.dirty
	l.dirty = nil
	l.mu.Unlock()
	for _, s := range dirty {
		s.c.mu.Lock()
		s.dirty = false
		err := s.c.flushLocked()
		s.c.mu.Unlock()
		_ = err // a failed write ends the connection through its reader
	}
	if cap(dirty) <= 1024 {
		clear(dirty)
		l.mu.Lock()
		if l.dirty == nil {
			l.dirty = dirty[:0]
		}
		l.mu.Unlock()
	}
	return !l.undrained
}

// later holds a write to s for the end of a round going on: its own
// loop's, or another's (most writes come from a loop delivering what it
// read, to a socket that may be in another loop) (c.mu held).
func (s *sock) later() bool {
	if s.dirty {
		return true
	}
	if s.l.hold(s) {
		return true
	}
	for _, l := range s.l.e.loops {
		if l != s.l && l.hold(s) {
			return true
		}
	}
	return false
}

// hold puts s in l's list for the end of l's round, if l is in one.
func (l *loop) hold(s *sock) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.inRound {
		return false
	}
	s.dirty = true
	l.dirty = append(l.dirty, s)
	return true
}

// idle reports whether the loop ends: it has no connection left.
func (l *loop) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) > 0 {
		return false
	}
	l.running = false
	l.ep = nil // run closes it
	return true
}

// handle serves one ready socket: writes first (so a peer blocked on us
// drains), then one read.
func (l *loop) handle(ev syscall.EpollEvent) {
	l.mu.Lock()
	s := l.conns[ev.Fd]
	l.mu.Unlock()
	if s == nil {
		return
	}
	c := s.c
	if ev.Events&evWrite != 0 {
		if c.writable(s.writeMore) {
			c.h.OnDrain()
		}
	}
	if ev.Events&(evRead|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		l.read(s, ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
	}
}

// writeMore is write for writable: it also drops EPOLLOUT once all is out.
func (s *sock) writeMore(b []byte) (int, error) {
	n, err := s.write(b)
	if err == nil && s.wantOut {
		s.wantOut = false
		s.l.ctl(syscall.EPOLL_CTL_MOD, s.fd, evRead)
	}
	return n, err
}

// read reads once (again while a read fills the buffer, a few times) and
// delivers what came; the end of the stream ends the connection. With
// ended (the peer's end or an error was pending when polled), bytes read
// before it leave the loop undrained: no new event will announce the end,
// which the next poll reads, after the round's writes.
func (l *loop) read(s *sock, ended bool) {
	c := s.c
	for range 4 {
		n, errno := rawRead(s.fd, l.buf)
		if errno == syscall.EINTR {
			continue
		}
		if errno == syscall.EAGAIN {
			return
		}
		if n <= 0 || errno != 0 {
			var err error
			if errno != 0 {
				err = os.NewSyscallError("read", errno)
			}
			l.remove(s, err)
			return
		}
		if c.consume(l.buf[:n]) {
			l.remove(s, nil)
			return
		}
		if n < len(l.buf) {
			l.undrained = l.undrained || ended
			return
		}
	}
	l.undrained = true
}

// remove ends s's connection: its socket closes and OnClose is delivered.
func (l *loop) remove(s *sock, err error) {
	l.mu.Lock()
	delete(l.conns, int32(s.fd))
	l.mu.Unlock()
	s.c.end(s.closeFD, err)
}
