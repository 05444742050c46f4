package hub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testHub is a Hub serving on 127.0.0.1 for one test.
type testHub struct {
	*Hub
	devURL, pageURL, httpURL string
	stop                     func() error
	pageToken                string // sent by authHeader when set
}

// authHeader carries the test's page token, if it has one.
func (h *testHub) authHeader() http.Header {
	if h.pageToken == "" {
		return nil
	}
	return bearerHeader(h.pageToken)
}

func bearerHeader(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// startHub serves a Hub with opts until the test ends.
func startHub(t testing.TB, opts Options) *testHub {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	devLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, devLn, pageLn) }()
	scheme := "ws"
	if opts.TLS != nil {
		scheme = "wss"
	}
	th := &testHub{Hub: h,
		devURL:  scheme + "://" + devLn.Addr().String() + "/",
		pageURL: scheme + "://" + pageLn.Addr().String() + "/",
		httpURL: httpScheme(scheme) + "://" + pageLn.Addr().String(),
	}
	var stopped bool
	var stopErr error
	th.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("hub did not stop within 10 s")
			}
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := th.stop(); err != nil {
			t.Errorf("hub stop: %v", err)
		}
	})
	return th
}

// client is a test WebSocket peer (coder/websocket).
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, url string, hdr http.Header) *client {
	t.Helper()
	c, err := tryDial(t, url, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

func tryDial(t *testing.T, url string, hdr http.Header) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return nil, &statusError{code: resp.StatusCode, err: err}
		}
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}, nil
}

type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }

func (c *client) send(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("send %.100q: %v", s, err)
	}
}

func (c *client) sendBinary(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// read returns the next message, failing after 5 s.
func (c *client) read() (websocket.MessageType, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return typ, string(b)
}

// expect reads until a message satisfies ok, failing after 5 s.
func (c *client) expect(what string, ok func(string) bool) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []string
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %.100s: %.300v; saw %.300q", what, err, seen)
		}
		if ok(string(b)) {
			return string(b)
		}
		seen = append(seen, string(b))
	}
}

func (c *client) expectExact(want string) { c.t.Helper(); c.expect(want, eq(want)) }

// closeStatus reads until the connection ends and returns its close code and reason.
func (c *client) closeStatus() (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		if ctx.Err() != nil {
			c.t.Fatalf("connection still open after 5 s")
		}
		return -1, err.Error()
	}
}

func eq(want string) func(string) bool { return func(s string) bool { return s == want } }

// hasKey matches a JSON object with key set to val (any value when val is nil).
func hasKey(key string, val any) func(string) bool {
	return func(s string) bool {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return false
		}
		v, ok := m[key]
		return ok && (val == nil || v == val)
	}
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
