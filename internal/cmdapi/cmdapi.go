// Package cmdapi serves the seed's command protocol (package wire) to any
// number of clients at once, whatever carries them: a local page's
// WebSocket, the call-home connection to the hub, a recovery page.
//
// A Server routes each request to the handler registered for its kind and
// item, sends the handler's replies to the client that asked, then sends the
// whole state object to every client. A new client gets the state first.
// Through a hub that tags its pages (package pagetag, ServeLink), each
// page is a client of its own on the one call-home link.
//
// Ordering and concurrency: requests from one client are handled one at a
// time, in order; clients are handled concurrently. Every client has one
// writer fed by a bounded queue, so a client that stops reading is closed
// (1008) and never stalls the others. Broadcast never blocks.
package cmdapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"tether/internal/wire"
)

// Conn is one client connection: a text-message transport with a close
// handshake. *wsconn.Conn implements it. Read and Write must not drop the
// connection when their context ends (wsconn's do not): the server ends a
// client by closing it, so the peer gets its close code. Keepalive is the
// transport owner's to run (wsconn.Conn.WithKeepalive).
type Conn interface {
	// Read returns the next message and whether it was text; Close and
	// CloseNow end it.
	Read(ctx context.Context) (text bool, data []byte, err error)
	// Write sends one text message, within the transport's own bound.
	Write(ctx context.Context, data []byte) error
	// Close closes with a WebSocket close code and reason (a handshake).
	Close(code int, reason string) error
	// CloseNow drops the connection without a handshake.
	CloseNow() error
}

// Close codes the server uses.
const (
	closeGoingAway = 1001
	closePolicy    = 1008
	closeInternal  = 1011
)

// Reply sends messages to the client whose request is being handled.
type Reply func(m wire.Message)

// Handler handles one request. Messages it sends with reply go to the
// requesting client; an error it returns is sent to that client as
// {"error": err.Error()}. ctx ends when the client does; reply may be kept
// and called after the handler returns (a stream of log lines) until then,
// and does nothing after. ClientID(ctx) tells clients apart.
type Handler func(ctx context.Context, req wire.Request, reply Reply) error

// clientKey is the context key of the client a request came from.
type clientKey struct{}

// ClientID returns an opaque value that is the same for every request of
// one client connection and differs between connections, for handlers that
// keep state per connection; nil outside a handler.
func ClientID(ctx context.Context) any { return ctx.Value(clientKey{}) }

// afterKey is the context key of what a handler leaves to run once its
// request is answered (AfterReply).
type afterKey struct{}

// AfterReply runs f once the request ctx belongs to is answered: after the
// handler's replies and the state object that follows them are queued for
// the clients. A handler that ends the app (a restart) leaves that to f,
// so its answer and the state it changed are on their way, flushed by
// Shutdown, before the connections close; outside a handler f runs at
// once.
func AfterReply(ctx context.Context, f func()) {
	if after, ok := ctx.Value(afterKey{}).(*[]func()); ok {
		*after = append(*after, f)
		return
	}
	f()
}

// Options configure a Server. The zero value works.
type Options struct {
	// State returns the whole state object sent to clients on connect and
	// after every request. Nil means an empty object. It must not call
	// Broadcast (it runs under the lock that orders broadcasts).
	State func() wire.Message
	// Queue is each client's send queue length in messages; a client whose
	// queue is full is closed. Zero means 256.
	Queue int
	// MaxPages bounds the hub pages of one link that are clients at once
	// (ServeLink). Zero means DefaultMaxPages.
	MaxPages int
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// Server is a command router and the set of connected clients.
type Server struct {
	opts     Options
	log      *slog.Logger
	mu       sync.Mutex
	order    sync.Mutex         // orders broadcasts: see BroadcastState
	handlers map[string]Handler // kind + " " + item
	docs     map[string]Item    // kind + " " + item → description, for GET help
	clients  map[*client]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// New returns a Server with no handlers.
func New(opts Options) *Server {
	if opts.Queue <= 0 {
		opts.Queue = 256
	}
	if opts.State == nil {
		opts.State = func() wire.Message { return wire.Message{} }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		opts:     opts,
		log:      log,
		handlers: map[string]Handler{},
		clients:  map[*client]struct{}{},
	}
}

// Handle registers h for requests of kind (wire.Get or wire.Cmd) and item,
// replacing any earlier handler.
func (s *Server) Handle(kind, item string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind+" "+item] = h
}

// Items lists the registered requests as "GET wifi", "CMD hal", sorted.
func (s *Server) Items() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		items = append(items, k)
	}
	sort.Strings(items)
	return items
}

func (s *Server) handler(kind, item string) (Handler, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.handlers[kind+" "+item]
	return h, ok
}

// Clients is the number of connected clients.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Broadcast sends m to every client without blocking.
func (s *Server) Broadcast(m wire.Message) {
	s.order.Lock()
	defer s.order.Unlock()
	s.broadcastRaw(wire.Encode(m))
}

// BroadcastState sends the state object to every client. The state is
// read and queued under the lock Broadcast queues under, so a state read
// before a message (a driver's new status) is never queued after it.
func (s *Server) BroadcastState() {
	s.order.Lock()
	defer s.order.Unlock()
	s.broadcastRaw(wire.Encode(s.opts.State()))
}

// sendState queues the state object for c alone, ordered as BroadcastState.
func (s *Server) sendState(c *client) {
	s.order.Lock()
	defer s.order.Unlock()
	c.send(wire.Encode(s.opts.State()))
}

func (s *Server) broadcastRaw(b []byte) {
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.send(b)
	}
}

// Shutdown ends the server gracefully, as http.Server.Shutdown does: Serve
// refuses new clients; each client's requests are cancelled, what is
// queued for it is written, and it is closed with 1001; Shutdown waits for
// them all until ctx ends, then returns ctx's error (Close then drops what
// is left).
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.stop() {
		c.cancel() // its writer flushes and closes with 1001
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close drops every client at once, without a close handshake or what is
// queued for it, and waits for their goroutines; Serve refuses new clients
// afterwards. Shutdown is the graceful way; Close is idempotent.
func (s *Server) Close() {
	for _, c := range s.stop() {
		c.kill(closeGoingAway, "server shutting down")
		c.conn.CloseNow()
	}
	s.wg.Wait()
}

// stop marks the server closed and returns its clients.
func (s *Server) stop() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	return cs
}

var errClosed = errors.New("cmdapi: server closed")

// unknown explains an unknown item, listing the known ones of that kind.
func (s *Server) unknown(req wire.Request) error {
	var known []string
	for _, it := range s.Items() {
		if k, item, _ := cut(it); k == req.Kind {
			known = append(known, item)
		}
	}
	slices.Sort(known)
	return fmt.Errorf("unknown item %q for %s; known: %v", req.Item, req.Kind, known)
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
