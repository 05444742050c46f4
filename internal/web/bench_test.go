package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"tether/internal/web"
)

// BenchmarkPage fetches the embedded page as a browser's first visit does
// (/, /app.js, /style.css, each with Accept-Encoding: gzip) over one
// keep-alive connection, and reports the bytes that crossed the wire.
func BenchmarkPage(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- web.New(web.Options{WSPort: 8081}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	var wire countingConn
	tr := &http.Transport{DisableCompression: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return &countedConn{Conn: c, n: &wire}, err
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	base := "http://" + ln.Addr().String()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range []string{"/", "/app.js", "/style.css"} {
			req, _ := http.NewRequest("GET", base+p, nil)
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("GET %s: %s", p, resp.Status)
			}
		}
	}
	b.ReportMetric(float64(wire)/float64(b.N), "wire-B/op")
}

// countingConn counts the bytes read from the server.
type countingConn int64

type countedConn struct {
	net.Conn
	n *countingConn
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	*c.n += countingConn(n)
	return n, err
}

// BenchmarkNew measures making the server for the embedded page, as every
// start of the demo app does.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		web.New(web.Options{WSPort: 8081})
	}
}
