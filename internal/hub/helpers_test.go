package hub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"tether/internal/tethertest"
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

// dial connects to url with hdr as a test's WebSocket peer, or fails the
// test.
func dial(t *testing.T, url string, hdr http.Header) *tethertest.WS {
	t.Helper()
	return tethertest.DialWS(t, url, tethertest.WSOptions{Header: hdr})
}

// dialStatus dials url with hdr and returns the handshake's HTTP status:
// 101 when it upgraded (the connection is then dropped at the test's end).
func dialStatus(t *testing.T, url string, hdr http.Header) int {
	t.Helper()
	_, resp, err := tethertest.TryDialWS(t, url, tethertest.WSOptions{Header: hdr})
	return handshakeStatus(t, url, resp, err)
}

// handshakeStatus is the HTTP status of a TryDialWS to url that returned
// resp and err; it fails the test when the dial got no HTTP answer.
func handshakeStatus(t *testing.T, url string, resp *http.Response, err error) int {
	t.Helper()
	switch {
	case err == nil:
		return http.StatusSwitchingProtocols
	case resp != nil:
		return resp.StatusCode
	}
	t.Fatalf("dial %s: %v", url, err)
	return 0
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
