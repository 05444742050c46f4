package bench

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve runs h on 127.0.0.1:0 until the test ends and returns its ws:// URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
		<-done
	})
	return "ws://" + ln.Addr().String()
}

// tracked counts handler goroutines so a test can wait for them to end
// (http.Server.Shutdown does not wait for hijacked connections).
type tracked struct{ wg sync.WaitGroup }

func (tr *tracked) wrap(t *testing.T, h http.HandlerFunc) http.Handler {
	t.Cleanup(tr.wg.Wait)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.wg.Add(1)
		defer tr.wg.Done()
		h(w, r)
	})
}

// wsEchoServer is a coder/websocket echo server: every message back, same type.
func wsEchoServer(t *testing.T) string {
	var tr tracked
	return serve(t, tr.wrap(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := r.Context()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, p); err != nil {
				return
			}
		}
	}))
}

// testRelay is a tiny hub: devices at its device URL /<id>, pages at its
// page URL /<id>; a page gets the hub's presence event once registered;
// what a device sends goes to its pages, what a page sends to its device.
// With dropEvery n > 0 it drops every n-th message it relays.
type testRelay struct {
	dropEvery int64
	n         atomic.Int64
	mu        sync.Mutex
	devices   map[string]*websocket.Conn
	pages     map[string][]*websocket.Conn
}

func startRelay(t *testing.T, dropEvery int64) (deviceURL, pageURL string) {
	r := &testRelay{dropEvery: dropEvery, devices: map[string]*websocket.Conn{}, pages: map[string][]*websocket.Conn{}}
	var tr tracked
	deviceURL = serve(t, tr.wrap(t, r.serveDevice))
	pageURL = serve(t, tr.wrap(t, r.servePage))
	return deviceURL, pageURL
}

func (r *testRelay) drop() bool {
	return r.dropEvery > 0 && r.n.Add(1)%r.dropEvery == 0
}

func (r *testRelay) device(id string) *websocket.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.devices[id]
}

func (r *testRelay) serveDevice(w http.ResponseWriter, req *http.Request) {
	id := strings.TrimPrefix(req.URL.Path, "/")
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	r.mu.Lock()
	r.devices[id] = c
	r.mu.Unlock()
	ctx := req.Context()
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if r.drop() {
			continue
		}
		r.mu.Lock()
		pages := r.pages[id]
		r.mu.Unlock()
		for _, pc := range pages {
			pc.Write(ctx, typ, p)
		}
	}
}

func (r *testRelay) servePage(w http.ResponseWriter, req *http.Request) {
	id := strings.TrimPrefix(req.URL.Path, "/")
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := req.Context()
	c.Write(ctx, websocket.MessageText, []byte(`{"hub/device/shadow": 1}`))
	r.mu.Lock()
	r.pages[id] = append(r.pages[id], c)
	r.mu.Unlock()
	for r.device(id) == nil && ctx.Err() == nil { // as the hub: presence once the device is online
		time.Sleep(5 * time.Millisecond)
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"hub/device/connected": true}`))
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if r.drop() {
			continue
		}
		if dev := r.device(id); dev != nil {
			dev.Write(ctx, typ, p)
		}
	}
}
