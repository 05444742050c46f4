package hubws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/tethertest"
)

// fill writes 64 KiB messages to c until the socket is full (Pending),
// and returns how many it wrote.
func fill(t *testing.T, c Conn) int {
	t.Helper()
	msg := bytes.Repeat([]byte("z"), 64<<10)
	for n := 1; n <= 1000; n++ {
		if err := c.Write(Binary, msg); err != nil {
			t.Fatalf("write %d: %v", n, err)
		}
		if c.Pending() {
			return n
		}
	}
	t.Fatal("1000 messages of 64 KiB and the socket never filled")
	return 0
}

// smallBufferClient dials addr with a small receive buffer, so the
// server's socket fills quickly.
func smallBufferClient(t *testing.T, addr string) *rawClient {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return handshake(t, c, addr)
}

func TestASlowReaderIsWrittenAsItDrains(t *testing.T) {
	addr, last := echoServer(t, Options{})
	r := smallBufferClient(t, addr)
	r.frame(true, 1, []byte("start"), true)
	r.next()
	c := last().c
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	n := fill(t, c)
	r.c.SetDeadline(time.Now().Add(20 * time.Second))
	for i := range n {
		if op, p := r.next(); op != 2 || len(p) != 64<<10 {
			t.Fatalf("message %d: op %d, %d bytes", i, op, len(p))
		}
	}
	select {
	case <-last().drains:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnDrain after the reader took everything")
	}
	if c.Pending() {
		t.Error("still Pending after OnDrain")
	}
}

func TestAStalledReaderEndsAtTheWriteDeadline(t *testing.T) {
	addr, last := echoServer(t, Options{})
	r := smallBufferClient(t, addr)
	r.frame(true, 1, []byte("start"), true)
	r.next()
	rec := last()
	rec.c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	fill(t, rec.c)
	select {
	case <-rec.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a reader that never reads was not dropped at the write deadline")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !errors.Is(rec.err, os.ErrDeadlineExceeded) {
		t.Errorf("OnClose err %v, want os.ErrDeadlineExceeded", rec.err)
	}
}

func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	addr, _ := echoServer(t, Options{})
	before := runtime.NumGoroutine()
	const n = 200
	for range n {
		r := dialRaw(t, addr)
		r.frame(true, 1, []byte("hi"), true)
		r.next()
	}
	time.Sleep(100 * time.Millisecond) // let the handshakes' goroutines end
	if got := runtime.NumGoroutine() - before; got > n/10 {
		t.Errorf("%d idle connections added %d goroutines, want none but the event loops'", n, got)
	}
}

func TestTLSConnections(t *testing.T) {
	h, _ := echoHandler(t, Options{MaxMessage: 1000})
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	url := "wss" + strings.TrimPrefix(srv.URL, "https")
	c := tethertest.DialWS(t, url, tethertest.WSOptions{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig})
	for i, size := range []int{1, 200, 1000} {
		msg := strings.Repeat(fmt.Sprint(i), size)
		c.Send(msg)
		if _, got := c.Read(); got != msg {
			t.Fatalf("echo of %d bytes over TLS: got %d bytes", size, len(got))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readErr := make(chan error, 1)
	go func() { _, _, err := c.Conn.Read(ctx); readErr <- err }() // a ping's pong needs a reader
	if err := c.Conn.Ping(ctx); err != nil {
		t.Errorf("ping over TLS: %v", err)
	}
	c.Send(strings.Repeat("x", 1001))
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("over the limit over TLS: %v, want close 1009", err)
	}
}

// A message and the end of the stream pending together when the loop
// polls are both read: the end comes as no new event, so a loop that
// stopped at the message would hold the connection for ever.
func TestAMessageAndTheEndTogether(t *testing.T) {
	addr, last := echoServer(t, Options{})
	for i := range 20 {
		r := dialRaw(t, addr)
		r.frame(true, 1, []byte("hi"), true)
		r.next()
		rec := last()
		r.frame(true, 1, []byte("bye"), true)
		r.c.(*net.TCPConn).CloseWrite()
		select {
		case <-rec.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d: no OnClose 5 s after a message and the end of the stream", i)
		}
		if op, p := r.next(); op != 1 || string(p) != "bye" {
			t.Errorf("connection %d: got op %d %q, want the echo of bye", i, op, p)
		}
	}
}
