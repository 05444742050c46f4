package benchws

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// server runs handle for every WebSocket on 127.0.0.1 (coder/websocket,
// a real peer) and returns its ws:// URL.
func server(t *testing.T, handle func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		handle(r.Context(), c)
	})}
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "ws://" + ln.Addr().String()
}

func dial(t *testing.T, url string, o Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestEchoOfEverySize(t *testing.T) {
	url := server(t, func(ctx context.Context, c *websocket.Conn) {
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			c.Write(ctx, typ, p)
		}
	})
	c := dial(t, url+"/x", Options{ReadBuffer: 256})
	for _, size := range []int{0, 1, 125, 126, 255, 256, 257, 65535, 65536, 200000} {
		for _, text := range []bool{false, true} {
			p := bytes.Repeat([]byte("ab"), size/2+1)[:size]
			if err := c.WriteMessage(text, p); err != nil {
				t.Fatal(err)
			}
			gotText, got, err := c.ReadMessage()
			if err != nil || gotText != text || !bytes.Equal(got, p) {
				t.Fatalf("size %d text %v: got text %v, %d bytes, %v", size, text, gotText, len(got), err)
			}
		}
	}
}

func TestPingsFragmentsAndClose(t *testing.T) {
	url := server(t, func(ctx context.Context, c *websocket.Conn) {
		go c.Read(ctx) // answers the client's pong... and reads its close
		if err := c.Ping(ctx); err != nil {
			return
		}
		w, _ := c.Writer(ctx, websocket.MessageText)
		w.Write([]byte("frag"))
		w.Write([]byte("mented"))
		w.Close()
		c.Close(4000, "replaced")
	})
	c := dial(t, url+"/x", Options{ReadBuffer: 256})
	text, p, err := c.ReadMessage()
	if err != nil || !text || string(p) != "fragmented" {
		t.Fatalf("got %v %q %v, want the text reassembled (after the ping was answered)", text, p, err)
	}
	_, _, err = c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "replaced" {
		t.Errorf("got %v, want the close frame 4000 replaced", err)
	}
}

func TestReadLimitAndHandshakeErrors(t *testing.T) {
	url := server(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageBinary, make([]byte, 2000))
		c.Read(ctx)
	})
	c := dial(t, url+"/x", Options{ReadLimit: 1000})
	if _, _, err := c.ReadMessage(); err == nil || !strings.Contains(err.Error(), "over the 1000-byte limit") {
		t.Errorf("got %v, want the limit error", err)
	}
	m := dial(t, url+"/x", Options{Subprotocol: "mqtt"})
	if m == nil {
		t.Fatal("no conn")
	}
	plain := server(t, func(context.Context, *websocket.Conn) {})
	_, err := Dial(context.Background(), strings.Replace(plain, "ws://", "http://", 1), Options{})
	if err == nil || !strings.Contains(err.Error(), `want ws or wss`) {
		t.Errorf("got %v, want the scheme refused", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go http.Serve(ln, http.NotFoundHandler())
	_, err = Dial(context.Background(), "ws://"+ln.Addr().String()+"/", Options{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Errorf("got %v, want HTTP 404", err)
	}
}
