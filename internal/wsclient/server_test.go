package wsclient_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoServer is a real coder/websocket server. It answers each text message
// m with "echo:m", except for commands:
//
//	close CODE REASON   closes with that code
//	headers             replies with the handshake's headers as JSON
//	ping-me             pings the client, then replies "pinged"
//	after-ping          replies "got ping" once the client has pinged
//	big N               replies with N bytes
//	mute                stops reading (so answers no pings)
type echoServer struct {
	*httptest.Server
	mu     sync.Mutex
	closes []websocket.StatusCode // close codes received from clients
	pinged chan struct{}
	quit   chan struct{} // closed when the test ends
}

func newEchoServer(t *testing.T, tlsConfig *tls.Config) *echoServer {
	t.Helper()
	s := &echoServer{pinged: make(chan struct{}, 1), quit: make(chan struct{})}
	h := http.HandlerFunc(s.serve)
	if tlsConfig == nil {
		s.Server = httptest.NewServer(h)
	} else {
		s.Server = httptest.NewUnstartedServer(h)
		s.TLS = tlsConfig
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the test
		s.StartTLS()
	}
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.quit) })
	return s
}

// URL returns the ws:// (or wss://) URL of path.
func (s *echoServer) URL(path string) string {
	return "ws" + strings.TrimPrefix(s.Server.URL, "http") + path
}

func (s *echoServer) closeCodes() []websocket.StatusCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]websocket.StatusCode(nil), s.closes...)
}

func (s *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case s.pinged <- struct{}{}:
			default:
			}
			return true
		},
	})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				s.mu.Lock()
				s.closes = append(s.closes, code)
				s.mu.Unlock()
			}
			return
		}
		if !s.answer(ctx, c, r, string(data)) {
			return
		}
	}
}

func (s *echoServer) answer(ctx context.Context, c *websocket.Conn, r *http.Request, msg string) bool {
	send := func(m string) { c.Write(ctx, websocket.MessageText, []byte(m)) }
	cmd, arg, _ := strings.Cut(msg, " ")
	switch cmd {
	case "close":
		code, reason, _ := strings.Cut(arg, " ")
		var n int
		json.Unmarshal([]byte(code), &n)
		c.Close(websocket.StatusCode(n), reason)
		return false
	case "headers":
		b, _ := json.Marshal(r.Header)
		send(string(b))
	case "ping-me":
		go func() { // Ping needs the read loop running to see the pong.
			if c.Ping(ctx) == nil {
				send("pinged")
			}
		}()
	case "after-ping":
		go func() {
			select {
			case <-s.pinged:
				send("got ping")
			case <-ctx.Done():
			}
		}()
	case "big":
		var n int
		json.Unmarshal([]byte(arg), &n)
		send(strings.Repeat("x", n))
	case "mute":
		select {
		case <-ctx.Done():
		case <-s.quit:
		}
		return false
	default:
		send("echo:" + msg)
	}
	return true
}
