package cmdapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/cmdapi"
	"tether/internal/wire"
	"tether/internal/wsconn"
)

// bombConn is a connection whose Write panics when armed.
type bombConn struct {
	*wsconn.Conn
	write *atomic.Bool
}

func (b bombConn) Write(ctx context.Context, data []byte) error {
	if b.write.Load() {
		panic("write bomb")
	}
	return b.Conn.Write(ctx, data)
}

// TestPanicInConnectionGoroutine: a panic in any of a connection's
// goroutines (the reader running a request and the state, the writer)
// closes that connection with 1011 and nothing else: the
// connections are served outside net/http, as call-home's are, so a
// panic escaping Serve would end the test binary.
func TestPanicInConnectionGoroutine(t *testing.T) {
	for _, part := range []string{"state", "writer"} {
		t.Run(part, func(t *testing.T) {
			var stateBomb, writeBomb atomic.Bool
			srv := cmdapi.New(cmdapi.Options{State: func() wire.Message {
				if stateBomb.Load() {
					panic("state bomb")
				}
				return wire.Message{"iam": "Device_1"}
			}})
			srv.Handle(wire.Cmd, "arm", func(context.Context, wire.Request, cmdapi.Reply) error {
				switch part {
				case "state":
					stateBomb.Store(true)
				case "writer":
					writeBomb.Store(true)
				}
				return nil
			})
			var wg sync.WaitGroup
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
				if err != nil {
					return
				}
				bc := bombConn{Conn: c, write: &writeBomb}
				done := make(chan struct{})
				wg.Go(func() { defer close(done); srv.Serve(context.Background(), bc) }) // not under net/http's recover
				<-done
			}))
			t.Cleanup(func() { srv.Close(); hs.Close(); wg.Wait() })
			url := "ws" + strings.TrimPrefix(hs.URL, "http")

			p := dial(t, url)
			p.ExpectKey("iam", nil)
			p.Send(`["CMD", "arm", []]`)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for {
				_, _, err := p.Conn.Read(ctx)
				if err == nil {
					continue
				}
				if code := websocket.CloseStatus(err); code != websocket.StatusInternalError {
					t.Fatalf("after a %s panic: %v, want a 1011 close", part, err)
				}
				break
			}
			stateBomb.Store(false)
			writeBomb.Store(false)
			q := dial(t, url)
			q.ExpectKey("iam", nil)
		})
	}
}
