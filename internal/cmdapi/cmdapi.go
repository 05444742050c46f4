// Package cmdapi serves the seed's command protocol (package wire) to any
// number of clients at once, whatever carries them: a local page's
// WebSocket, the call-home connection to the hub, a recovery page.
//
// A Server routes each request to the handler registered for its kind and
// item, sends the handler's replies to the client that asked, then sends the
// whole state object to every client. A new client gets the state first.
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
	"time"

	"tether/internal/wire"
)

// Conn is one client connection: a text-message transport with a close
// handshake. *wsconn.Conn implements it.
type Conn interface {
	// Read returns the next message and whether it was text.
	Read(ctx context.Context) (text bool, data []byte, err error)
	// Write sends one text message.
	Write(ctx context.Context, data []byte) error
	// Close closes with a WebSocket close code and reason.
	Close(code int, reason string) error
}

// Pinger is implemented by connections that can run keepalive pings.
type Pinger interface {
	Keepalive(ctx context.Context, interval time.Duration) error
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

// Options configure a Server. The zero value works.
type Options struct {
	// State returns the whole state object sent to clients on connect and
	// after every request. Nil means an empty object. It must not call
	// Broadcast (it runs under the lock that orders broadcasts).
	State func() wire.Message
	// Queue is each client's send queue length in messages; a client whose
	// queue is full is closed. Zero means 256.
	Queue int
	// PingInterval is the keepalive interval for connections that
	// implement Pinger. Zero means 20 s; negative disables pings.
	PingInterval time.Duration
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
	if opts.PingInterval == 0 {
		opts.PingInterval = 20 * time.Second
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

// Close closes every client with 1001 and waits for their goroutines. Serve
// refuses new clients afterwards. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.kill(closeGoingAway, "server shutting down")
	}
	s.wg.Wait()
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
