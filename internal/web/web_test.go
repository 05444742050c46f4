package web_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/tethertest"
	"tether/internal/web"
	"tether/internal/wire"
	"tether/internal/wsconn"
)

// serve runs a web.Server on 127.0.0.1:0 until the test ends and returns
// its address.
func serve(t *testing.T, opts web.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := web.New(opts)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v at shutdown", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10 s of its context ending")
		}
	})
	return ln.Addr().String()
}

// get sends a request with headers ("Name: value") and returns the
// response with its body read (and not decoded).
func get(t *testing.T, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// raw sends a request line as is (no client-side cleaning) and returns the
// status line.
func raw(t *testing.T, addr, target string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return strings.TrimSpace(line)
}

// icoType is favicon.ico's Content-Type: the host's mime.types entry
// (image/vnd.microsoft.icon on Debian), else what net/http sniffs.
var icoType = cmp.Or(mime.TypeByExtension(".ico"), "image/x-icon")

func TestEmbeddedAssets(t *testing.T) {
	addr := serve(t, web.Options{WSPort: 7777})
	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `content="7777"`},
		{"/index.html", "text/html; charset=utf-8", "<title>"},
		{"/app.js", "text/javascript; charset=utf-8", "function wsURL"},
		{"/style.css", "text/css; charset=utf-8", ":root"},
		{"/favicon.ico", icoType, ""},
	}
	total := 0
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, "GET", "http://"+addr+tt.path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("GET %s: %d %q, want 200 %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s: body lacks %q", tt.path, tt.contains)
			}
			if tt.path != "/index.html" {
				total += len(body)
			}
			etag, modified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
			if etag == "" || modified == "" {
				t.Fatalf("validators: ETag %q, Last-Modified %q", etag, modified)
			}
			resp, _ = get(t, "GET", "http://"+addr+tt.path, "If-None-Match: "+etag)
			if resp.StatusCode != http.StatusNotModified {
				t.Fatalf("If-None-Match %s: %d, want 304", etag, resp.StatusCode)
			}
			resp, _ = get(t, "GET", "http://"+addr+tt.path, "If-Modified-Since: "+modified)
			if resp.StatusCode != http.StatusNotModified {
				t.Fatalf("If-Modified-Since: %d, want 304", resp.StatusCode)
			}
		})
	}
	if total > 50<<10 {
		t.Fatalf("the page is %d bytes, want well under 50 KB", total)
	}
}

// Anything not in the route table is 404, traversals included; a wrong
// method on a route is 405.
func TestRefusals(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "network.json"), []byte(`{"secret": true}`), 0o600)
	os.MkdirAll(filepath.Join(root, "www"), 0o755)
	os.WriteFile(filepath.Join(root, "www", "page.htm"), []byte("<p>seed page</p>"), 0o644)
	for name, opts := range map[string]web.Options{
		"embedded": {Root: root},
		"routes":   {Root: root, Routes: map[string]string{"/": "www/page.htm"}},
	} {
		t.Run(name, func(t *testing.T) {
			addr := serve(t, opts)
			for _, target := range []string{
				"/../network.json", "/%2e%2e/network.json", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fnetwork.json",
				"/network.json", "/www/page.htm", "/www/", "//network.json", "/./network.json", "/index.html/..",
				"/static/../network.json", "/%2fetc%2fpasswd", "/nope",
			} {
				if got := raw(t, addr, target); !strings.HasPrefix(got, "HTTP/1.1 404") && !strings.HasPrefix(got, "HTTP/1.1 400") {
					t.Errorf("GET %s: %q, want 404", target, got)
				}
			}
			for _, m := range []string{"POST", "PUT", "DELETE"} {
				resp, _ := get(t, m, "http://"+addr+"/")
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("%s /: %d Allow %q, want 405 GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
				}
			}
			resp, body := get(t, "HEAD", "http://"+addr+"/")
			if resp.StatusCode != 200 || body != "" {
				t.Errorf("HEAD /: %d with %d bytes", resp.StatusCode, len(body))
			}
		})
	}
}

// demo.routes serves exactly the files it names, with their types, ETags
// and ranges, read per request (a change shows at once); files outside
// the root, by name or by symlink, are 404.
func TestRoutes(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("root:x:0:0"), 0o644)
	os.MkdirAll(filepath.Join(root, "www"), 0o755)
	page := "<html>" + strings.Repeat("seed page ", 2000) + "</html>"
	os.WriteFile(filepath.Join(root, "www", "page.htm"), []byte(page), 0o644)
	js := strings.Repeat("var a = 1;\n", 100)
	os.WriteFile(filepath.Join(root, "www", "jquery-3.5.1.min.js"), []byte(js), 0o644)
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(root, "www", "blob.bin"), big, 0o644)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "www", "escape.txt"))
	addr := serve(t, web.Options{Root: root, Routes: map[string]string{
		"/":                 "www/page.htm",
		"/static/jquery.js": "www/jquery-3.5.1.min.js",
		"/blob":             "www/blob.bin",
		"/escape":           "www/escape.txt",
		"/up":               "../" + filepath.Base(outside) + "/secret.txt",
		"/missing":          "www/none.htm",
		"/dir":              "www",
	}})
	base := "http://" + addr

	resp, body := get(t, "GET", base+"/")
	if resp.StatusCode != 200 || body != page || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	etag := resp.Header.Get("ETag")
	if r, _ := get(t, "GET", base+"/", "If-None-Match: "+etag); r.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d, want 304", r.StatusCode)
	}
	if r, body := get(t, "GET", base+"/static/jquery.js"); r.StatusCode != 200 || body != js || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET /static/jquery.js: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	r, body := get(t, "GET", base+"/blob", "Accept-Encoding: gzip")
	if r.StatusCode != 200 || body != string(big) || r.Header.Get("Content-Encoding") != "" || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("GET /blob: %d %q %q, %d bytes", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), len(body))
	}
	r, body = get(t, "GET", base+"/blob", "Range: bytes=100-199")
	if r.StatusCode != 206 || body != string(big[100:200]) {
		t.Fatalf("Range: %d, %d bytes", r.StatusCode, len(body))
	}
	for _, p := range []string{"/escape", "/up", "/missing", "/dir", "/www/page.htm", "/index.html", "/app.js"} {
		if r, body := get(t, "GET", base+p); r.StatusCode != 404 || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
	// Files are opened per request: an edit shows at once, with a new ETag.
	os.WriteFile(filepath.Join(root, "www", "page.htm"), []byte("<p>edited</p>"), 0o644)
	if r, body := get(t, "GET", base+"/"); body != "<p>edited</p>" || r.Header.Get("ETag") == etag {
		t.Fatalf("after an edit: %q, ETag %s (was %s)", body, r.Header.Get("ETag"), etag)
	}
}

// Upgrades on any path reach the command API; browser origins other than
// the page's own host need demo.origins; oversized messages close with 1009.
func TestWebSocket(t *testing.T) {
	api := cmdapi.New(cmdapi.Options{State: func() wire.Message { return wire.Message{"iam": "Device_1"} }})
	t.Cleanup(api.Close)
	addr := serve(t, web.Options{API: api, Origins: []string{"*.example.com"}, MaxMessage: 1000})
	_, port, _ := net.SplitHostPort(addr)
	if resp, body := get(t, "GET", "http://"+addr+"/any/path"); resp.StatusCode != 404 || strings.Contains(body, "<html") {
		t.Fatalf("plain GET /any/path beside the API: %d", resp.StatusCode)
	}
	if resp, body := get(t, "GET", "http://"+addr+"/"); resp.StatusCode != 200 || !strings.Contains(body, "tether") {
		t.Fatalf("plain GET / on the API's listener: %d, want the page", resp.StatusCode)
	}
	tests := []struct {
		path, origin string
		ok           bool
	}{
		{"/", "", true},
		{"/any/path", "", true},
		{"/", "http://127.0.0.1:" + port, true},
		{"/", "http://127.0.0.1:8080", true}, // the page on another port of this host
		{"/", "https://app.example.com", true},
		{"/", "http://evil.test", false},
		{"/", "http://127.0.0.1.evil.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.origin, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := tethertest.TryDialWS(t, "ws://"+addr+tt.path, tethertest.WSOptions{Header: h})
			if !tt.ok {
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("dial with Origin %s: %v, want 403", tt.origin, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, msg := c.Read(); msg != `{"iam":"Device_1"}` {
				t.Fatalf("first message %s, want the state", msg)
			}
		})
	}
	c := tethertest.DialWS(t, "ws://"+addr+"/", tethertest.WSOptions{})
	c.Send(strings.Repeat("x", 1001))
	if code, reason := c.CloseStatus(); code != wsconn.StatusTooBig {
		t.Fatalf("oversized message: closed with %d %q, want 1009", code, reason)
	}
}

// Slow and huge requests are cut off by the server's limits and the page is
// still served beside them.
func TestLimits(t *testing.T) {
	addr := serve(t, web.Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 100<<10))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "431") {
		t.Fatalf("100 KB of headers: %q, want 431", line)
	}
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET / HTTP/1.1\r\nHost: x\r\n") // and never finishes
	if got := raw(t, addr, "/"); got != "HTTP/1.1 200 OK" {
		t.Fatalf("beside a slow client: %q", got)
	}
	slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, slow); err != nil {
		t.Fatalf("slow client not cut off by the header timeout: %v", err)
	}
}
