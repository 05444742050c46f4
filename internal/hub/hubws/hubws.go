// Package hubws is the hub's WebSocket connection layer: the small interface
// the hub's routing uses (upgrade, read events, write, ping, close) and the
// engine under it, tether's own. Plain TCP connections are taken out of Go's
// poller once upgraded and served by a few event loops (one per processor,
// each an epoll set and one read buffer), so an idle connection holds no
// goroutine and no buffer; what arrives is read, parsed (internal/wsframe;
// every header is checked before its payload is waited for) and delivered
// by the loop, and writes go to the socket from the writing goroutine
// without blocking, the rest waiting in the connection until the socket
// drains. TLS connections, whose bytes Go's crypto/tls must decrypt, get a
// reading goroutine each and a writing one while something waits.
//
// Handler events come one at a time (OnDrain excepted, which may come
// from the writing side); every Conn method is safe from any goroutine.
// Routing never sees the engine: it holds an Upgrader, Conns and Handlers.
package hubws

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Kind is a data message's type.
type Kind uint8

// The two kinds of data message.
const (
	Text   Kind = 1
	Binary Kind = 2
)

// String returns "text" or "binary".
func (k Kind) String() string {
	if k == Binary {
		return "binary"
	}
	return "text"
}

// Close codes the hub sends (RFC 6455 section 7.4.1).
const (
	CodeNormal          = 1000
	CodeGoingAway       = 1001
	CodeProtocolError   = 1002
	CodeInvalidPayload  = 1007
	CodePolicyViolation = 1008
	CodeTooBig          = 1009
	CodeInternalError   = 1011
	// CodeReplaced closes a device connection that a newer connection with
	// the same id replaced (a private-use code).
	CodeReplaced = 4000
)

// Handler receives one connection's events, in order, one at a time.
type Handler interface {
	// OnMessage is a complete data message; p is valid only during the call.
	OnMessage(kind Kind, p []byte)
	// OnPing is a ping from the peer; the handler answers it (Conn.Pong).
	OnPing(p []byte)
	// OnPong is a pong from the peer.
	OnPong(p []byte)
	// OnReadWait comes when the events of what was read so far have been
	// delivered and the reader is about to read the socket again: the
	// place to act on a batch of messages at once.
	OnReadWait()
	// OnDrain comes when everything written has reached the socket, after
	// a write that the socket could not take at once (Conn.Pending).
	OnDrain()
	// OnClose comes last, once, when the connection has ended: code and
	// reason are the peer's close frame (code 0 when there was none) and err
	// what ended it (nil for a close frame or the peer's end of the stream;
	// os.ErrDeadlineExceeded when written data waited past the write
	// deadline; a *PanicError when the connection's own code panicked).
	OnClose(code int, reason string, err error)
}

// Conn is one upgraded WebSocket connection. Writes never block: what the
// socket does not take at once waits in the connection (Pending) and goes
// out as the peer reads, within the write deadline. Every method is safe
// to call from any goroutine.
type Conn interface {
	// Start begins delivering the connection's events to the Handler given
	// at upgrade; done is called after Handler.OnClose. A connection that
	// is idle holds no goroutine and no read buffer.
	Start(done func())
	// Write sends one data message.
	Write(kind Kind, p []byte) error
	// WritePrepared sends a message framed once by Prepare, for writing
	// the same message to many connections.
	WritePrepared(m *Prepared) error
	// Ping and Pong send control frames (payload at most 125 bytes).
	Ping(p []byte) error
	Pong(p []byte) error
	// Close sends a close frame with code and reason (truncated to fit)
	// after what was written before, and ends the connection when the peer
	// answers, or within a second.
	Close(code int, reason string) error
	// Hold makes the writes that follow wait in a buffer until Flush, which
	// sends them together: one system call for a batch of messages.
	Hold()
	Flush() error
	// Pending reports whether written data is still waiting for the socket;
	// Handler.OnDrain follows when it has all gone.
	Pending() bool
	// SetWriteDeadline bounds the wait of data written from now on: past t
	// with data still waiting, the connection ends (OnClose with
	// os.ErrDeadlineExceeded).
	SetWriteDeadline(t time.Time) error
	// RemoteAddr is the peer's address.
	RemoteAddr() net.Addr
}

// Upgrader turns HTTP requests into Conns. NewUpgrader is its one
// implementation; the interface stays as the hub's seam to its connection
// layer (hub.Options.Upgrader), through which the hub's tests wrap the real
// engine to plant panics in its reading and writing code and check that
// such a panic ends only its own connection.
type Upgrader interface {
	// Upgrade completes the WebSocket handshake; the caller then calls
	// Conn.Start to have its events delivered.
	Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (Conn, error)
}

// PanicError ends a connection whose handling panicked inside hubws.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Options configure an Upgrader; the zero value works.
type Options struct {
	// MaxMessage is the largest message read, in bytes; a bigger one
	// closes the connection with 1009. Zero means 64 KiB.
	MaxMessage int
	// ReadBuffer is the read buffer of a connection read by a goroutine of
	// its own (TLS), in bytes. Plain connections are read by the event loops
	// into one buffer per loop and hold none while idle. Zero means 4 KiB.
	ReadBuffer int
	// HandshakeTimeout bounds writing the handshake response. Zero means 5 s.
	HandshakeTimeout time.Duration
}

// DefaultMaxMessage is the message size limit when Options.MaxMessage is zero.
const DefaultMaxMessage = 64 << 10

func (o Options) withDefaults() Options {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 4 << 10
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	return o
}

// Prepared is a data message framed once (a server frame: unmasked, final),
// to be written to many connections without framing it for each.
type Prepared struct{ frame []byte }

// Prepare frames a message of kind with payload p (copied).
func Prepare(kind Kind, p []byte) *Prepared {
	n := len(p)
	f := make([]byte, 0, n+10)
	f = append(f, 0x80|byte(kind))
	switch {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127)
		for i := 7; i >= 0; i-- {
			f = append(f, byte(uint64(n)>>(8*i)))
		}
	}
	return &Prepared{frame: append(f, p...)}
}
