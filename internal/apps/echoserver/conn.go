package echoserver

import (
	"context"
	"net/http"
	"sync"
	"time"

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
	ws   *wsconn.Conn
	buf  []byte
	once sync.Once
}

// ServeHTTP upgrades any path to a WebSocket and echoes on it until the
// client leaves or the server stops.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No write timeout of wsconn's: it would start a timer per message.
	// A write stuck at shutdown ends by goAway's hard stop instead.
	ws, err := wsconn.Accept(w, r, wsconn.AcceptOptions{Options: wsconn.Options{ReadLimit: s.opts.MaxMessage, WriteTimeout: -1}})
	if err != nil {
		s.log.Debug("refused upgrade", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := &conn{ws: ws, buf: make([]byte, 0, firstBuffer)}
	if !s.add(c) {
		ws.Close(wsconn.StatusGoingAway, "server shutting down")
		return
	}
	defer s.remove(c)
	s.log.Debug("client connected", "remote", r.RemoteAddr)
	err = c.echo()
	s.log.Debug("client gone", "remote", r.RemoteAddr, "err", err)
}

// echo reads each message into the connection's buffer and writes it
// back, until an error. wsconn closes a message over the read limit with
// 1009, text that is not UTF-8 with 1007 and a bad frame with 1002.
func (c *conn) echo() error {
	for {
		// No deadline on reads: a close from goAway ends them.
		text, msg, err := c.ws.ReadInto(context.Background(), c.buf)
		if err != nil {
			c.ws.CloseNow() // a no-op after a completed close handshake
			return err
		}
		if err := c.ws.WriteMessage(context.Background(), text, msg); err != nil {
			c.ws.CloseNow()
			return err
		}
		c.buf = msg[:0]
		if cap(c.buf) > keptBuffer {
			c.buf = make([]byte, 0, firstBuffer)
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
			t := time.AfterFunc(hardStop, func() { c.ws.CloseNow() })
			defer t.Stop()
			c.ws.Close(wsconn.StatusGoingAway, "server shutting down")
		}()
	})
}
