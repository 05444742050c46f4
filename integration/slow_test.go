package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// slowloris dribbles a request's headers one byte every 200 ms and
// reports when the server cut it (or the request ran out, which fails).
func slowloris(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	req := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Slow: y\r\n", 1000)
	for i := 0; i < len(req); i++ {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte{req[i]}); err != nil {
			return time.Since(start), nil // cut
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err == io.EOF || err != nil && !isTimeout(err) {
			return time.Since(start), nil // cut
		} else if err == nil {
			return time.Since(start), nil // answered (408) before the end: cut too
		}
	}
	return time.Since(start), io.ErrUnexpectedEOF
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// checkSlowloris runs 20 slowloris clients against addr, checks that a
// normal request to url is served meanwhile, and that every slow client is
// cut within 3 of the server's header timeouts.
func checkSlowloris(t *testing.T, addr, url string, timeout time.Duration) {
	var g errgroup.Group
	var mu sync.Mutex
	var longest time.Duration
	for range 20 {
		g.Go(func() error {
			d, err := slowloris(addr)
			mu.Lock()
			longest = max(longest, d)
			mu.Unlock()
			return err
		})
	}
	time.Sleep(time.Second)
	if code, _ := get(t, url, deviceAuthKV...); code != http.StatusOK { // an open hub takes no notice of the device password
		t.Errorf("GET %s beside 20 slow clients: %d", url, code)
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("a slow client was never cut: %v", err)
	}
	if longest > 3*timeout {
		t.Fatalf("slowest client cut after %v, want within %v (3 header timeouts)", longest, 3*timeout)
	}
	t.Logf("20 slowloris clients cut after at most %v (header timeout %v)", longest.Round(time.Millisecond), timeout)
}

func TestDeviceSlowloris(t *testing.T) {
	d := startDevice(t, 0)
	checkSlowloris(t, d.http, "http://"+d.http+"/", 5*time.Second)
	d.alive(t)
}

func TestHubSlowloris(t *testing.T) {
	h := startHub(t, 0)
	checkSlowloris(t, h.page, "http://"+h.page+"/healthz", 10*time.Second)
	h.alive(t)
}

// manyConns opens n WebSocket connections to addr+path from this one
// address, 50 at a time ("%d" in path is the connection's number), and
// returns those that upgraded; each other must
// have been refused with an HTTP status, not dropped.
func manyConns(t *testing.T, n int, addr, path string) (conns []net.Conn) {
	t.Helper()
	var mu sync.Mutex
	g := errgroup.Group{}
	g.SetLimit(50)
	refused := map[int]int{}
	for i := range n {
		g.Go(func() error {
			path := path
			if strings.Contains(path, "%d") {
				path = fmt.Sprintf(path, i)
			}
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				return err
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+deviceAuth+"\r\n\r\n") // an open hub takes no notice of it
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				c.Close()
				return err
			}
			c.SetDeadline(time.Time{})
			mu.Lock()
			defer mu.Unlock()
			if res.StatusCode != http.StatusSwitchingProtocols {
				refused[res.StatusCode]++
				c.Close()
				return nil
			}
			conns = append(conns, c)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("%d connections from one address: %v (%d open)", n, err, len(conns))
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	t.Logf("%d connections from one address: %d open, refused %v", n, len(conns), refused)
	return conns
}

func TestDeviceThousandsOfConnections(t *testing.T) {
	d := startDevice(t, 0)
	n := 2000
	if testing.Short() {
		n = 500
	}
	manyConns(t, n, d.ws, "/")
	d.alive(t)
}

func TestHubThousandsOfConnections(t *testing.T) {
	h := startHub(t, 0, "--page-conns-per-addr", "0") // every page comes from 127.0.0.1
	n := 2000
	if testing.Short() {
		n = 500
	}
	manyConns(t, n, h.page, "/crowded")
	manyConns(t, n, h.dev, "/crowded-%d")
	h.alive(t)
}
