package wsconn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
	"tether/internal/wsconn"
)

// ReadInto reuses the buffer it is given for messages that fit, grows for
// those that do not, and checks what Read checks (1007 for bad UTF-8).
func TestReadInto(t *testing.T) {
	type got struct {
		text  bool
		data  string
		inBuf bool // the message was read into the buffer given
		err   error
	}
	results := make(chan got, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{Options: wsconn.Options{ReadLimit: 1 << 20}})
		if err != nil {
			return
		}
		buf := make([]byte, 0, 16)
		for {
			text, data, err := c.ReadInto(context.Background(), buf)
			results <- got{text, string(data), len(data) > 0 && &data[0] == &buf[:1][0], err}
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c := tethertest.DialWS(t, "ws"+strings.TrimPrefix(srv.URL, "http"), tethertest.WSOptions{})
	big := strings.Repeat("x", 100<<10)
	for _, m := range []struct {
		text  bool
		data  string
		inBuf bool
	}{
		{true, "short", true},
		{false, "\x00\x01", true},
		{true, big, false},
	} {
		if m.text {
			c.Send(m.data)
		} else {
			c.SendBinary([]byte(m.data))
		}
		r := <-results
		if r.err != nil || r.data != m.data || r.text != m.text || r.inBuf != m.inBuf {
			t.Errorf("%d bytes: got %d bytes, text %v, in the buffer %v, %v", len(m.data), len(r.data), r.text, r.inBuf, r.err)
		}
	}
	c.Send("\xff\xfe")
	if code, reason := c.CloseStatus(); code != wsconn.StatusInvalidData {
		t.Errorf("close after invalid UTF-8: %d %q, want 1007", code, reason)
	}
	if r := <-results; !errors.Is(r.err, wsconn.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v, want ErrInvalidUTF8", r.err)
	}
}

// A missing pong ends Keepalive and the reader's Read with ErrNoPong.
func TestKeepaliveNoPong(t *testing.T) {
	readErr := make(chan error, 1)
	keepErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{})
		if err != nil {
			return
		}
		go func() { keepErr <- c.Keepalive(context.Background(), 100*time.Millisecond) }()
		_, _, err = c.Read(context.Background())
		readErr <- err
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tethertest.DialWS(t, "ws"+strings.TrimPrefix(srv.URL, "http"), tethertest.WSOptions{}) // never reads: never answers a ping
	for _, ch := range []chan error{keepErr, readErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, wsconn.ErrNoPong) {
				t.Errorf("got %v, want ErrNoPong", err)
			}
		case <-ctx.Done():
			t.Fatal("keepalive did not give up on a peer that never answers")
		}
	}
}
