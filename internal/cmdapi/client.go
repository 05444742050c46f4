package cmdapi

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"tether/internal/fifo"
	"tether/internal/pagetag"
	"tether/internal/wire"
)

// client is one connected peer: a reader (Serve's goroutine) and a writer
// fed by a bounded queue.
//
// The queue is a slice that grows with the backlog, not a channel of the
// bound's size: a channel of 256 messages costs every client 6 KB (7-11 KB
// of a device's RSS per page, measured with 50 pages) while almost all of
// them hold one or two messages at a time.
type client struct {
	conn  Conn
	pages *pages // a hub link's pages (ServeLink), nil for any other client
	// A hub page's client (ServeLink): what it is sent goes over link,
	// tagged with page, while life lasts; it has no conn of its own.
	link   *client
	page   string
	life   context.Context
	cancel context.CancelFunc // ends the client's context: flush, then 1001
	max    int                // queue bound, in messages
	mu     sync.Mutex         // guards queue
	queue  [][]byte           // messages to write, oldest first
	wake   chan struct{}      // 1-buffered: the queue became non-empty
	done   chan struct{}
	once   sync.Once
	code   int
	reason string
}

// send queues b without blocking; a full queue closes the client.
func (c *client) send(b []byte) {
	if c.link != nil {
		if c.life.Err() == nil {
			c.link.send(pagetag.Tag(c.page, b))
		}
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	c.mu.Lock()
	if len(c.queue) >= c.max {
		c.mu.Unlock()
		c.kill(closePolicy, "send queue full: client too slow")
		return
	}
	c.queue = append(c.queue, b)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the oldest queued message, if any.
func (c *client) take() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fifo.Pop(&c.queue) // a burst's backing array goes once drained
}

// kill ends the client with code and reason; the first call wins.
func (c *client) kill(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
	})
}

// Serve runs one client until its connection ends, ctx ends (closing it with
// 1001, or the code its cause gives: closeOf) or it is too slow. It returns why the client ended.
func (s *Server) Serve(ctx context.Context, conn Conn) error {
	return s.serve(ctx, &client{conn: conn})
}

// serve runs c (its conn and, for a link, its pages set).
func (s *Server) serve(ctx context.Context, c *client) error {
	conn := c.conn
	c.max, c.wake, c.done = s.opts.Queue, make(chan struct{}, 1), make(chan struct{})
	ctx, cancel := context.WithCancel(context.WithValue(ctx, clientKey{}, c))
	defer cancel()
	c.cancel = cancel
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(closeGoingAway, "server shutting down")
		return errClosed
	}
	s.clients[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.remove(c)

	var wg sync.WaitGroup
	wg.Go(func() { s.guard(c, "writer", func() error { s.writeLoop(ctx, c); return nil }) })
	err := s.guard(c, "reader", func() error {
		s.sendState(c)
		return s.readLoop(ctx, c)
	})
	cancel()
	wg.Wait()
	return err
}

// guard runs one of c's goroutines, turning a panic into an error: the
// panic and its stack are logged and c is closed with 1011, so that one
// connection can never take the device down (a panic in a goroutine
// escapes every recover but its own). A writer that panicked closes the
// connection itself, since it was the one to do it.
func (s *Server) guard(c *client, part string, f func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		s.log.Error("connection goroutine panicked", "part", part, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		c.kill(closeInternal, "internal error")
		if part == "writer" {
			c.conn.Close(c.code, c.reason)
		}
		err = fmt.Errorf("cmdapi: %s panicked: %v", part, r)
	}()
	return f()
}

func (s *Server) remove(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// writeLoop is the client's only writer. When the client ends it closes the
// connection with the recorded code, which also ends the reader.
func (s *Server) writeLoop(ctx context.Context, c *client) {
	// Writes go on while ctx ends (Conn's contract): ending ctx is handled
	// by the flush and the close below.
	for {
		select {
		case <-c.wake:
			if !c.writeQueued(ctx) {
				c.kill(closeGoingAway, "write failed")
				c.conn.Close(c.code, c.reason)
				return
			}
		case <-ctx.Done():
			c.kill(closeOf(ctx))
			c.flush()
			c.conn.Close(c.code, c.reason)
			return
		case <-c.done:
			c.conn.Close(c.code, c.reason)
			return
		}
	}
}

// closeOf is the close code and reason of a client whose context ended:
// those its cause gives when it has a CloseCode method (the device
// password changed: devauth.ErrPasswordChanged), else 1001 "shutting
// down".
func closeOf(ctx context.Context) (int, string) {
	if cc, ok := errors.AsType[closeCoder](context.Cause(ctx)); ok {
		return cc.CloseCode()
	}
	return closeGoingAway, "shutting down"
}

// closeCoder is an error that says how to close a connection it ends.
type closeCoder interface {
	error
	CloseCode() (int, string)
}

// writeQueued writes queued messages until the queue is empty or the
// client ends; it reports false if a write failed.
func (c *client) writeQueued(ctx context.Context) bool {
	for {
		select {
		case <-c.done:
			return true // the caller sees done and closes
		default:
		}
		b, ok := c.take()
		if !ok {
			return true
		}
		if err := c.conn.Write(ctx, b); err != nil {
			return false
		}
	}
}

// flush writes what is already queued, briefly, before a close.
func (c *client) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		b, ok := c.take()
		if !ok || c.conn.Write(ctx, b) != nil {
			return
		}
	}
}

func (s *Server) readLoop(ctx context.Context, c *client) error {
	// ctx ending does not end the read (Conn's contract): the writer's
	// close handshake does, so the peer gets its 1001.
	for {
		text, data, err := c.conn.Read(ctx)
		if err != nil {
			return err // Serve cancels ctx; the writer flushes and closes
		}
		from, fctx := c, ctx
		if c.pages != nil {
			var ok bool
			if from, fctx, data, ok = c.pages.route(ctx, data); !ok {
				continue
			}
		}
		s.handle(fctx, from, text, data)
	}
}

// handle answers one message from client c.
func (s *Server) handle(ctx context.Context, c *client, text bool, data []byte) {
	if !text {
		c.send(wire.Encode(wire.Error("want a text message holding a JSON array, got a binary message")))
		return
	}
	req, err := wire.Decode(data)
	if err != nil {
		c.send(wire.Encode(wire.Error(err.Error())))
		return
	}
	var after []func()
	s.dispatch(context.WithValue(ctx, afterKey{}, &after), c, req)
	s.BroadcastState()
	for _, f := range after {
		f()
	}
}

// dispatch runs the request's handler, turning an escaped panic into an
// error reply so one bad handler cannot take the device down.
func (s *Server) dispatch(ctx context.Context, c *client, req wire.Request) {
	h, ok := s.handler(req.Kind, req.Item)
	if !ok {
		c.send(wire.Encode(wire.Error(s.unknown(req).Error())))
		return
	}
	reply := func(m wire.Message) { c.send(wire.Encode(m)) }
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("handler panicked", "request", req.String(), "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("internal error handling %s %s", req.Kind, req.Item)
			}
		}()
		return h(ctx, req, reply)
	}()
	if err != nil && !errors.Is(err, context.Canceled) {
		reply(wire.Error(err.Error()))
	}
}
