// Package hubws is the hub's WebSocket connection layer: the small interface
// the hub's routing uses (upgrade, read events, write, ping, close) and its
// one implementation on github.com/lxzan/gws, chosen for its small per
// connection footprint. Routing never imports the library, so it can be
// swapped without touching the hub.
//
// A Conn delivers what it reads to its Handler from the goroutine that runs
// Conn.Run, one event at a time; Write, Ping, Pong and Close are safe to call
// from any goroutine and are serialised by the Conn.
package hubws

import (
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

// Handler receives one connection's events, in order, from Conn.Run.
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
	// OnClose comes last, once, when the connection has ended: code and
	// reason are the peer's close frame (code 0 when there was none) and err
	// what ended the read loop.
	OnClose(code int, reason string, err error)
}

// Conn is one upgraded WebSocket connection.
type Conn interface {
	// Run reads until the connection ends, delivering events to the
	// Handler given at upgrade; it returns after Handler.OnClose.
	Run()
	// Write sends one data message, blocking until it is written or the
	// write deadline passes.
	Write(kind Kind, p []byte) error
	// WritePrepared sends a message framed once by Prepare, for writing
	// the same message to many connections.
	WritePrepared(m *Prepared) error
	// Ping and Pong send control frames (payload at most 125 bytes).
	Ping(p []byte) error
	Pong(p []byte) error
	// Close sends a close frame with code and reason (truncated to fit)
	// and closes the socket without waiting for the peer's answer.
	Close(code int, reason string) error
	// Hold makes the writes that follow wait in a buffer (up to 64 KiB)
	// until Flush, which sends them together: one system call for a batch
	// of messages instead of one each.
	Hold()
	Flush() error
	// SetWriteDeadline bounds the writes in progress and to come.
	SetWriteDeadline(t time.Time) error
	// RemoteAddr is the peer's address.
	RemoteAddr() net.Addr
}

// Upgrader turns HTTP requests into Conns.
type Upgrader interface {
	// Upgrade completes the WebSocket handshake; the caller then runs
	// Conn.Run (on a goroutine it owns) to start reading.
	Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (Conn, error)
}

// Options configure an Upgrader; the zero value works.
type Options struct {
	// MaxMessage is the largest message read, in bytes; a bigger one
	// closes the connection with 1009. Zero means 64 KiB.
	MaxMessage int
	// ReadBuffer is each connection's read buffer, in bytes: it is held
	// for the connection's life, so it weighs on idle connections; bigger
	// messages are read past it. Zero means 1 KiB.
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
		o.ReadBuffer = 1 << 10
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	return o
}

// IsUpgrade reports whether r asks for a WebSocket upgrade.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header.Get("Connection"), "upgrade") &&
		equalFold(r.Header.Get("Upgrade"), "websocket")
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
