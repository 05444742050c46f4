package echoserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"tether/internal/wsconn"
)

const (
	// firstBuffer is each connection's read buffer to begin with.
	firstBuffer = 4 << 10
	// keptBuffer is the largest buffer a connection keeps between
	// messages; a bigger one, grown for a big message, is let go.
	keptBuffer = 64 << 10
	// hardStop is how long after a graceful close starts a write may still
	// block on a client that does not read.
	hardStop = 2 * time.Second
)

// conn is one client: a single goroutine reading and echoing.
type conn struct {
	ws     *websocket.Conn
	buf    []byte
	ctx    context.Context // for writes; cancelled by a hard stop
	cancel context.CancelFunc
	once   sync.Once
}

// ServeHTTP upgrades any path to a WebSocket and echoes on it until the
// client leaves or the server stops.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Debug("refused upgrade", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(s.opts.MaxMessage)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{ws: ws, ctx: ctx, cancel: cancel}
	if !s.add(c) {
		cancel()
		ws.Close(wsconn.StatusGoingAway, "server shutting down")
		return
	}
	defer s.remove(c)
	defer cancel()
	s.log.Debug("client connected", "remote", r.RemoteAddr)
	err = c.echo()
	s.log.Debug("client gone", "remote", r.RemoteAddr, "err", err)
}

// echo reads each message and writes it back, until an error.
func (c *conn) echo() error {
	for {
		typ, msg, err := c.read()
		if err != nil {
			err = wsconn.AnswerReadError(c.ws, err) // 1002 for a bad frame
			c.ws.CloseNow()                         // a no-op after a completed close handshake
			return err
		}
		if typ == websocket.MessageText && !utf8.Valid(msg) {
			c.ws.Close(wsconn.StatusInvalidData, "text message is not valid UTF-8")
			return wsconn.ErrInvalidUTF8
		}
		if err := c.ws.Write(c.ctx, typ, msg); err != nil {
			c.ws.CloseNow()
			return err
		}
		if len(c.buf) > keptBuffer {
			c.buf = nil
		}
	}
}

// read reads one whole message into the connection's buffer. The read
// limit set on ws closes a message that is too big with 1009.
func (c *conn) read() (websocket.MessageType, []byte, error) {
	// No deadline on reads: a graceful close from goAway ends them, and a
	// cancellable context here would cost a timer per message.
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	if c.buf == nil {
		c.buf = make([]byte, firstBuffer)
	}
	n := 0
	for {
		if n == len(c.buf) {
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		m, err := r.Read(c.buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return typ, c.buf[:n], nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// goAway closes the connection with 1001 without waiting for the peer's
// answer, and cuts it hard if a write is still stuck after hardStop. The
// caller tracks the goroutine with wg.
func (c *conn) goAway(wg *sync.WaitGroup) {
	c.once.Do(func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.AfterFunc(hardStop, c.cancel)
			defer t.Stop()
			c.ws.Close(wsconn.StatusGoingAway, "server shutting down")
		}()
	})
}
