package cmdapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/cmdapi"
	"tether/internal/tethertest"
	"tether/internal/wire"
	"tether/internal/wsconn"
)

// newServer serves srv's command API on a real 127.0.0.1 listener.
func newServer(t *testing.T, srv *cmdapi.Server) string {
	t.Helper()
	return listen(t, srv, srv.Serve)
}

// listen serves each WebSocket accepted on a real 127.0.0.1 listener with
// serve (srv.Serve or srv.ServeLink) and returns its ws:// URL.
func listen(t *testing.T, srv *cmdapi.Server, serve func(context.Context, cmdapi.Conn) error) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
		if err != nil {
			return
		}
		serve(r.Context(), c)
	}))
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

// dial connects a test peer to url.
func dial(t *testing.T, url string) *tethertest.WS {
	return tethertest.DialWS(t, url, tethertest.WSOptions{})
}

func newEcho() (*cmdapi.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := cmdapi.New(cmdapi.Options{State: func() wire.Message {
		return wire.Message{"iam": "Device_1", "requests": n.Load()}
	}})
	srv.Handle(wire.Cmd, "echo", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		n.Add(1)
		s, err := req.StringArg(0, "text")
		if err != nil {
			return err
		}
		reply(wire.Info("echo start"))
		reply(wire.Message{"echo/text": s})
		return nil
	})
	srv.Handle(wire.Get, "boom", func(context.Context, wire.Request, cmdapi.Reply) error {
		panic("boom")
	})
	return srv, &n
}

func TestStateRepliesAndBroadcast(t *testing.T) {
	srv, _ := newEcho()
	url := newServer(t, srv)
	a, b := dial(t, url), dial(t, url)
	if got := a.ExpectKey("iam", nil); got["iam"] != "Device_1" {
		t.Fatalf("first message = %v, want the state", got)
	}
	b.ExpectKey("iam", nil)
	a.Send(`["CMD", "echo", ["hi"]]`)
	if got := a.ExpectKey("echo/text", nil); got["echo/text"] != "hi" {
		t.Fatalf("reply = %v", got)
	}
	// after the request, every client gets the new state
	for _, p := range []*tethertest.WS{a, b} {
		if got := p.ExpectKey("requests", nil); got["requests"] != float64(1) {
			t.Fatalf("state after request = %v, want requests=1", got)
		}
	}
	srv.Broadcast(wire.Message{"note": "to all"})
	a.ExpectKey("note", nil)
	b.ExpectKey("note", nil)
}

func TestBadInputKeepsConnection(t *testing.T) {
	srv, _ := newEcho()
	url := newServer(t, srv)
	p := dial(t, url)
	p.ExpectKey("iam", nil)
	cases := map[string]string{
		"not json":                `not JSON`,
		"{}":                      `got an object`,
		"[1,2]":                   `want 3 elements`,
		`["GET"]`:                 `want 3 elements`,
		`["CMD","nope",[]]`:       `unknown item "nope" for CMD; known: [echo]`,
		`["GET","echo",[]]`:       `unknown item "echo" for GET; known: [boom]`,
		`["GET",5,"x"]`:           `element 2`,
		`["CMD","echo",[5]]`:      `argument 1 (text): want a string`,
		`["GET","boom",[]]`:       `internal error handling GET boom`,
		"\u00e9\u0000":            `not JSON`,
		`["CMD","echo",["a"],[]]`: `want 3 elements`,
	}
	for in, want := range cases {
		p.Send(in)
		got := p.ExpectKey("error", nil)
		if !strings.Contains(fmt.Sprint(got["error"]), want) {
			t.Errorf("%s: error %q, want it to contain %q", in, got["error"], want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Conn.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
	if got := p.ExpectKey("error", nil); !strings.Contains(got["error"].(string), "binary") {
		t.Errorf("binary message: %v", got)
	}
	p.Send(`["CMD", "echo", ["still here"]]`)
	p.ExpectKey("echo/text", nil)
}

func TestOversizedAndInvalidUTF8Close(t *testing.T) {
	srv, _ := newEcho()
	url := newServer(t, srv)
	for _, tc := range []struct {
		name string
		msg  []byte
		code websocket.StatusCode
	}{
		{"oversized", []byte(strings.Repeat("x", 65<<10)), websocket.StatusMessageTooBig},
		{"invalid utf-8", []byte{0xff, 0xfe, 0xfd}, websocket.StatusInvalidFramePayloadData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dial(t, url)
			p.ExpectKey("iam", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.Conn.Write(ctx, websocket.MessageText, tc.msg)
			for {
				_, _, err := p.Conn.Read(ctx)
				if err != nil {
					if got := websocket.CloseStatus(err); got != tc.code {
						t.Fatalf("closed with %v (%v), want %v", got, err, tc.code)
					}
					return
				}
			}
		})
	}
}

// A client that never reads is closed; the others get every message.
func TestStalledClientDoesNotDelayOthers(t *testing.T) {
	srv := cmdapi.New(cmdapi.Options{Queue: 64})
	url := newServer(t, srv)
	live := dial(t, url)
	if _, b, err := live.Conn.Read(context.Background()); err != nil || string(b) != "{}" {
		t.Fatalf("first message %q, %v; want the empty state {}", b, err)
	}
	stalled := stalledPeer(t, strings.TrimPrefix(url, "ws://"))
	deadline := time.Now().Add(5 * time.Second)
	for srv.Clients() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	const n = 2000
	blob := strings.Repeat("x", 4000)
	var received atomic.Int64
	var readerDone atomic.Bool
	got := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		i := 0
		for i < n {
			if _, _, err := live.Conn.Read(ctx); err != nil {
				break
			}
			i++
			received.Store(int64(i))
		}
		readerDone.Store(true)
		got <- i
	}()
	for i := 0; i < n; i++ {
		// At most 16 in flight to the live client, however loaded the
		// machine, so that only the client that does not read falls behind.
		for wait := time.Now().Add(30 * time.Second); int64(i)-received.Load() > 16 && !readerDone.Load() && time.Now().Before(wait); {
			time.Sleep(100 * time.Microsecond)
		}
		srv.Broadcast(wire.Message{"blob": blob, "i": i})
	}
	if g := <-got; g != n {
		t.Fatalf("live client got %d of %d messages", g, n)
	}
	for srv.Clients() > 1 && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Clients() != 1 {
		t.Fatalf("stalled client still connected: %d clients", srv.Clients())
	}
	stalled.Close()
}

// stalledPeer completes a WebSocket handshake on a socket with a tiny
// receive buffer and then never reads.
func stalledPeer(t *testing.T, hostport string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: smallRcvBuf}
	c, err := d.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", hostport)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 101 ") {
		t.Fatalf("handshake: %q %v", line, err)
	}
	return c
}

// Shutdown writes what is queued for each client, closes it with 1001 and
// returns once every client has ended; a client that comes later is
// turned away with 1001 too.
func TestShutdown(t *testing.T) {
	srv, _ := newEcho()
	url := newServer(t, srv)
	p := dial(t, url)
	p.ExpectKey("iam", nil)
	srv.Broadcast(wire.Message{"last": "words"})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	p.ExpectKey("last", "words")
	if code, reason := p.CloseStatus(); code != 1001 {
		t.Errorf("after Shutdown: close %d %q, want 1001", code, reason)
	}
	if err := <-done; err != nil || srv.Clients() != 0 {
		t.Errorf("Shutdown: %v with %d clients left, want nil and none", err, srv.Clients())
	}
	if code, _ := dial(t, url).CloseStatus(); code != 1001 {
		t.Errorf("a client after Shutdown: close %d, want 1001", code)
	}
}

// Shutdown gives up when its context ends with a client that does not
// read; Close then drops it at once.
func TestShutdownTimesOutThenClose(t *testing.T) {
	srv, _ := newEcho()
	url := newServer(t, srv)
	stalled := stalledPeer(t, strings.TrimPrefix(url, "ws://"))
	defer stalled.Close()
	for srv.Clients() != 1 {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a client that never answers: %v, want the deadline", err)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not drop the client at once")
	}
}

// ClientID is the same for the requests of one connection and differs
// between connections; a reply kept after its handler returned still
// reaches its client, and ctx ends when the client goes.
func TestClientIDAndKeptReply(t *testing.T) {
	srv := cmdapi.New(cmdapi.Options{})
	ids := map[string]chan any{"a": make(chan any, 10), "b": make(chan any, 10)}
	kept := make(chan cmdapi.Reply, 10)
	ended := make(chan struct{}, 10)
	srv.Handle(wire.Cmd, "keep", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		who, _ := req.StringArg(0, "who")
		ids[who] <- cmdapi.ClientID(ctx)
		if who == "a" {
			kept <- reply
			context.AfterFunc(ctx, func() { ended <- struct{}{} })
		}
		return nil
	})
	url := newServer(t, srv)
	a, b := dial(t, url), dial(t, url)
	a.Send(`["CMD", "keep", ["a"]]`)
	a.Send(`["CMD", "keep", ["a"]]`)
	b.Send(`["CMD", "keep", ["b"]]`)
	a1, a2, b1 := <-ids["a"], <-ids["a"], <-ids["b"]
	if a1 == nil || a1 != a2 || a1 == b1 {
		t.Errorf("ClientID: a %p %p, b %p; want a's equal, b's another", a1, a2, b1)
	}
	if cmdapi.ClientID(context.Background()) != nil {
		t.Error("ClientID outside a handler is not nil")
	}
	reply := <-kept
	<-kept
	reply(wire.Message{"later": true})
	a.ExpectKey("later", nil)
	a.Conn.CloseNow()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's ctx did not end when its client went")
	}
	reply(wire.Message{"after": "the end"}) // dropped, no panic
}

// What a handler leaves to AfterReply runs once its reply and the state
// object that follows are queued: a handler that ends the server there
// (the device's restart) still gets both to its client, then 1001.
func TestAfterReplyRunsOnceAnswered(t *testing.T) {
	var phase atomic.Value
	phase.Store("serving")
	var states, seenByAfter atomic.Int64
	srv := cmdapi.New(cmdapi.Options{State: func() wire.Message {
		states.Add(1)
		return wire.Message{"iam": "Device_1", "phase": phase.Load()}
	}})
	shut := make(chan error, 1)
	srv.Handle(wire.Cmd, "leave", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		phase.Store("leaving")
		reply(wire.Info("leaving"))
		before := states.Load()
		cmdapi.AfterReply(ctx, func() {
			seenByAfter.Store(states.Load() - before)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				shut <- srv.Shutdown(ctx)
			}()
		})
		if states.Load() != before {
			t.Error("AfterReply ran its function inside the handler")
		}
		return nil
	})
	p := dial(t, newServer(t, srv))
	p.ExpectKey("phase", "serving")
	p.Send(`["CMD","leave",[]]`)
	p.ExpectKey("info", "leaving")
	p.ExpectKey("phase", "leaving")
	if code, reason := p.CloseStatus(); code != 1001 {
		t.Errorf("after the handler's shutdown: close %d %q, want 1001", code, reason)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if seenByAfter.Load() < 1 {
		t.Errorf("AfterReply's function ran before the state object was built")
	}
	done := false
	cmdapi.AfterReply(context.Background(), func() { done = true })
	if !done {
		t.Error("outside a handler AfterReply did not run its function at once")
	}
}
