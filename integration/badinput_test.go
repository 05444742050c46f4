package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// wsCase is one bad thing a client sends on an open WebSocket: either the
// server answers with a message containing wantReply and keeps the
// connection open, or it closes with wantClose.
type wsCase struct {
	name      string
	frames    [][]byte
	wantReply string
	wantClose int
}

func text(s string) [][]byte { return [][]byte{frame(true, opText, []byte(s), true)} }

// commandCases are bad requests to a device's command API (demo app) and
// the clean answer each must get.
func commandCases() []wsCase {
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	reply := func(name, msg, want string) wsCase { return wsCase{name: name, frames: text(msg), wantReply: want} }
	return append(protocolCases(), []wsCase{
		reply("not JSON", "not json", `"error"`),
		reply("truncated JSON", `["GET", "wifi"`, `"error"`),
		reply("object", `{"a": 1}`, `"error"`),
		reply("string", `"GET"`, `"error"`),
		reply("number", `5`, `"error"`),
		reply("null", `null`, `"error"`),
		reply("empty array", `[]`, `"error"`),
		reply("empty text", ``, `"error"`),
		reply("three numbers", `[1, 2, 3]`, `"error"`),
		reply("three nulls", `[null, null, null]`, `"error"`),
		reply("unknown kind", `["XYZ", "wifi", []]`, `"error"`),
		reply("item not a string", `["GET", 5, []]`, `"error"`),
		reply("args not an array", `["GET", "wifi", "x"]`, `"error"`),
		reply("four elements", `["GET", "wifi", [], 1]`, `"error"`),
		reply("unknown GET item", `["GET", "nope", []]`, `"error"`),
		reply("unknown CMD item", `["CMD", "nope", []]`, `"error"`),
		reply("traversal as item", `["GET", "../../etc/passwd", []]`, `"error"`),
		reply("long item", `["GET", "`+strings.Repeat("x", 10000)+`", []]`, `"error"`),
		reply("argument of the wrong type", `["CMD", "send_message", [5]]`, `"error"`),
		reply("too few arguments", `["CMD", "test_new_sta", []]`, `"error"`),
		reply("numbers as credentials", `["CMD", "test_new_sta", [1, 2]]`, `"error"`),
		reply("huge number", `["CMD", "send_message", [1e999]]`, `"error"`),
		reply("deep nesting", deep, `"error"`),
		reply("NUL in item", `["GET", "wifi\u0000", []]`, `"error"`),
		{name: "binary frame", frames: [][]byte{frame(true, opBinary, []byte(`["GET", "wifi", []]`), true)}, wantReply: `"error"`},
		{name: "fragmented request", frames: [][]byte{frame(false, opText, []byte(`["GET", `), true), frame(true, opCont, []byte(`"wifi", []]`), true)}, wantReply: `"wifi/`},
		{name: "oversized message", frames: text(`["CMD", "send_message", ["` + strings.Repeat("x", 1<<20) + `"]]`), wantClose: 1009},
		{name: "invalid UTF-8", frames: [][]byte{frame(true, opText, []byte("[\"\xff\xfe\"]"), true)}, wantClose: 1007},
		{name: "invalid UTF-8 across fragments", frames: [][]byte{frame(false, opText, []byte("[\"\xe2"), true), frame(true, opCont, []byte("\x28\xa1\"]"), true)}, wantClose: 1007},
	}...)
}

// runWSCase sends c's frames on a fresh connection to addr+path and checks
// the answer; after a reply, the same connection must still serve check.
func runWSCase(t *testing.T, addr, path string, c wsCase, skipFirst string, check func(*rawConn)) {
	conn := dialRaw(t, addr, path, deviceAuth) // an open hub takes no notice of it
	defer conn.c.Close()
	if skipFirst != "" {
		conn.waitText(skipFirst, 10*time.Second)
	}
	for _, f := range c.frames {
		if c.wantClose != 0 {
			conn.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			conn.c.Write(f) // the server may close before it has read everything
			continue
		}
		conn.write(f)
	}
	if c.wantClose != 0 {
		if got := conn.waitClose(15 * time.Second); got != c.wantClose {
			t.Fatalf("closed with %d, want %d", got, c.wantClose)
		}
		return
	}
	conn.waitText(c.wantReply, 10*time.Second)
	if check != nil {
		check(conn)
	}
}

func TestDeviceBadCommands(t *testing.T) {
	d := startDevice(t, 0)
	for _, c := range commandCases() {
		t.Run(c.name, func(t *testing.T) {
			runWSCase(t, d.ws, "/", c, `"iam"`, func(conn *rawConn) {
				conn.sendText(`["GET", "wifi", []]`)
				conn.waitText(`"wifi/`, 10*time.Second)
			})
			d.alive(t)
		})
	}
}

// rawHTTP sends a raw request and returns what came back within d.
func rawHTTP(t *testing.T, addr string, req []byte, d time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	go func() { c.Write(req) }() // a server may answer (431) before reading it all
	b, _ := io.ReadAll(io.LimitReader(c, 1<<20))
	return string(b)
}

// httpCase is a raw request and the status line prefix it must get.
type httpCase struct {
	name, req string
	want      []string // acceptable status codes
}

func httpCases() []httpCase {
	req := func(target string, hdrs ...string) string {
		// With the device password, so a device answers what it would
		// to someone allowed (an open hub takes no notice of it).
		return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + deviceAuth + "\r\n" + strings.Join(append(hdrs, ""), "\r\n") + "Connection: close\r\n\r\n"
	}
	many := make([]string, 60000) // 1.4 MB: over the hub's 1 MB and the device's 32 KiB
	for i := range many {
		many[i] = fmt.Sprintf("X-Header-%05d: value", i)
	}
	return []httpCase{
		{"traversal", req("/../../etc/passwd"), []string{"400", "404"}},
		{"encoded traversal", req("/%2e%2e/%2e%2e/etc/passwd"), []string{"400", "404"}},
		{"encoded slash traversal", req("/..%2f..%2fetc%2fpasswd"), []string{"400", "404"}},
		{"backslash traversal", req(`/..\..\etc\passwd`), []string{"400", "404"}},
		{"config file", req("/app.json"), []string{"404"}},
		{"network config", req("/network.json"), []string{"404"}},
		{"NUL in path", req("/index.html%00.js"), []string{"400", "404"}},
		{"huge header", req("/", "X-Big: "+strings.Repeat("a", 2<<20)), []string{"431"}},
		{"many headers", req("/", many...), []string{"431"}},
		{"garbage request line", "\x00\x01\x02 nonsense\r\n\r\n", []string{"400"}},
		{"HTTP/9", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", []string{"400", "505"}},
		{"bad WebSocket version", req("/", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 99", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), []string{"400", "404", "426"}},
	}
}

func checkHTTPCase(t *testing.T, addr string, c httpCase) {
	t.Helper()
	got := rawHTTP(t, addr, []byte(c.req), 10*time.Second)
	if strings.Contains(got, "root:x:") || strings.Contains(got, `"wsserver"`) || strings.Contains(got, `"echoserver"`) {
		t.Fatalf("leaked a file: %.200q", got)
	}
	for _, w := range c.want {
		if strings.HasPrefix(got, "HTTP/1.1 "+w) || strings.HasPrefix(got, "HTTP/1.0 "+w) {
			return
		}
	}
	// net/http's ServeMux answers a path with ".." by redirecting to the
	// cleaned path: acceptable when that path is then not found.
	if loc, ok := redirect(got); ok && slices.Contains(c.want, "404") {
		if code, body := get(t, "http://"+addr+loc, deviceAuthKV...); code != 404 {
			t.Fatalf("redirected to %q, which answers %d %.80q; want 404", loc, code, body)
		}
		return
	}
	t.Fatalf("answered %.60q, want status %v", got, c.want)
}

// redirect returns the Location of a 301, 307 or 308 answer.
func redirect(resp string) (string, bool) {
	if !strings.HasPrefix(resp, "HTTP/1.1 301") && !strings.HasPrefix(resp, "HTTP/1.1 307") && !strings.HasPrefix(resp, "HTTP/1.1 308") {
		return "", false
	}
	for _, l := range strings.Split(resp, "\r\n") {
		if v, ok := strings.CutPrefix(l, "Location: "); ok {
			return v, true
		}
	}
	return "", false
}

func TestDeviceBadHTTP(t *testing.T) {
	d := startDevice(t, 0)
	for _, c := range httpCases() {
		t.Run(c.name, func(t *testing.T) {
			checkHTTPCase(t, d.http, c)
			d.alive(t)
		})
	}
}

// hostileIDs are device ids the hub must refuse with 400 on both ports.
var hostileIDs = []struct{ name, path string }{
	{"slash", "/a%2Fb"},
	{"two segments", "/a/b"},
	{"dot dot", "/.."},
	{"encoded dot dot", "/%2e%2e"},
	{"leading dot", "/.hidden"},
	{"NUL", "/a%00b"},
	{"10,000 characters", "/" + strings.Repeat("x", 10000)},
	{"65 characters", "/" + strings.Repeat("x", 65)},
	{"Cyrillic look-alike", "/D%D0%B5vice_1"},
	{"fullwidth", "/%EF%BC%A4ev"},
	{"right-to-left override", "/%E2%80%AEdev"},
	{"space", "/a%20b"},
	{"empty", "/"},
	{"invalid UTF-8", "/%FF"},
}

func TestHubHostileIDs(t *testing.T) {
	h := startHub(t, 0)
	for _, id := range hostileIDs {
		for _, ep := range []struct{ name, addr string }{{"device", h.dev}, {"page", h.page}} {
			t.Run(ep.name+"/"+id.name, func(t *testing.T) {
				code, _ := rawHandshake(t, ep.addr, id.path)
				if code != 400 && !(id.path == "/" && ep.name == "page" && code == 200) {
					t.Fatalf("%s endpoint, path %.40q: status %d, want 400", ep.name, id.path, code)
				}
			})
		}
	}
	for _, id := range hostileIDs[:6] {
		t.Run("device page/"+id.name, func(t *testing.T) {
			code, body := get(t, "http://"+h.page+"/d"+id.path+"/")
			if code == 200 || code >= 500 {
				t.Fatalf("/d%s/: %d %.80q", id.path, code, body)
			}
		})
	}
	h.alive(t)
}

// hubCases are bad frames a device or page sends to the hub.
func hubCases() []wsCase {
	return []wsCase{
		{name: "oversized message", frames: text(strings.Repeat("x", 1<<20)), wantClose: 1009},
		{name: "invalid UTF-8", frames: [][]byte{frame(true, opText, []byte("\xff\xfe"), true)}, wantClose: 1007},
		{name: "invalid UTF-8 across fragments", frames: [][]byte{frame(false, opText, []byte("\xe2"), true), frame(true, opCont, []byte("\x28\xa1"), true)}, wantClose: 1007},
		{name: "unmasked frame", frames: [][]byte{frame(true, opText, []byte("x"), false)}, wantClose: 1002},
		{name: "reserved opcode", frames: [][]byte{frame(true, 0x3, []byte("x"), true)}, wantClose: 1002},
		{name: "continuation first", frames: [][]byte{frame(true, opCont, []byte("x"), true)}, wantClose: 1002},
		{name: "fragmented ping", frames: [][]byte{frame(false, opPing, []byte("x"), true)}, wantClose: 1002},
		{name: "ping over 125 bytes", frames: [][]byte{frame(true, opPing, make([]byte, 126), true)}, wantClose: 1002},
		{name: "bad close code", frames: [][]byte{frame(true, opClose, []byte{0x03, 0xe7}, true)}, wantClose: 1002},
		{name: "reserved bits", frames: [][]byte{append([]byte{0x80 | 0x40 | opText}, frame(true, opText, []byte("x"), true)[1:]...)}, wantClose: 1002},
		// lxzan/gws v1.8.9 read this length as a negative int and panicked,
		// which ended the hub process (exit status 2).
		{name: "64-bit length with the top bit set", frames: [][]byte{{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, wantClose: 1002},
		{name: "64-bit length of all ones on a ping", frames: [][]byte{{0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}}, wantClose: 1002},
		{name: "64-bit length over the limit", frames: [][]byte{{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}}, wantClose: 1009},
	}
}

func TestHubBadFrames(t *testing.T) {
	h := startHub(t, 0)
	for _, c := range hubCases() {
		for _, ep := range []struct{ name, addr string }{{"device", h.dev}, {"page", h.page}} {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				runWSCase(t, ep.addr, "/bad-"+strings.ReplaceAll(c.name, " ", "-"), c, "", nil)
				h.alive(t)
			})
		}
	}
	t.Run("page to an offline device", func(t *testing.T) {
		p := dialRaw(t, h.page, "/nobody-here")
		p.waitText(`"hub/device/connected":false`, 10*time.Second)
		for _, m := range []string{"not json", `[1,2,3]`, `["GET","x",[]]`, ""} {
			p.sendText(m)
			p.waitText(`"error"`, 10*time.Second)
		}
	})
	t.Run("garbage relayed as is", func(t *testing.T) {
		d := dialRaw(t, h.dev, "/garbage")
		p := dialRaw(t, h.page, "/garbage")
		p.waitText(`"hub/device/connected": true`, 10*time.Second)
		for _, m := range []string{"not json", `[1,2,3]`, `{"x":`, "\u0000"} {
			p.sendText(m)
			if got := d.readText(10 * time.Second); got != m {
				t.Fatalf("device got %q, page sent %q", got, m)
			}
		}
		p.send(opBinary, []byte{0, 1, 2})
		op, b, err := d.readFrame(10 * time.Second)
		if err != nil || op != opBinary || !bytes.Equal(b, []byte{0, 1, 2}) {
			t.Fatalf("binary relayed as op %d %q %v", op, b, err)
		}
	})
	h.alive(t)
}

func TestHubBadHTTP(t *testing.T) {
	h := startHub(t, 0)
	for _, c := range httpCases() {
		if c.name == "config file" || c.name == "network config" {
			continue
		}
		for _, ep := range []struct{ name, addr string }{{"device", h.dev}, {"page", h.page}} {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				checkHTTPCase(t, ep.addr, c)
			})
		}
	}
	h.alive(t)
}

// Frames reach the hub in whatever pieces TCP cuts them into. A device and
// a page each send a pong, short messages and a 200-byte one in two writes
// cut at every byte of every header; every message arrives whole, and
// nothing is closed.
// (A header cut so that the next read held more than its frame's rest made
// the hub's reader slice with a negative length: a recovered panic, and
// 1011 "internal error" for a peer that did nothing wrong.)
func TestHubFramesCutAnywhere(t *testing.T) {
	h := startHub(t, 0)
	msgs := []string{"a", "short", strings.Repeat("b", 200), "é"}
	var stream []byte
	var cuts []int // inside each frame's header, and just past it
	add := func(f []byte) {
		hdr := 6 + map[bool]int{true: 2}[len(f) > 131]
		for i := 1; i <= hdr; i++ {
			cuts = append(cuts, len(stream)+i)
		}
		stream = append(stream, f...)
	}
	add(frame(true, opPong, nil, true))
	for _, m := range msgs {
		add(frame(true, opText, []byte(m), true))
		add(frame(true, opPong, []byte("x"), true))
	}
	t.Run("cuts", func(t *testing.T) {
		for _, from := range []string{"device", "page"} {
			for _, cut := range cuts {
				t.Run(fmt.Sprintf("%s/%d", from, cut), func(t *testing.T) {
					t.Parallel()
					id := fmt.Sprintf("/cut-%s-%d", from, cut)
					d := dialRaw(t, h.dev, id)
					p := dialRaw(t, h.page, id)
					p.waitText(`"hub/device/connected": true`, 10*time.Second)
					src, dst := d, p
					if from == "page" {
						src, dst = p, d
					}
					src.write(stream[:cut])
					time.Sleep(50 * time.Millisecond)
					src.write(stream[cut:])
					for _, m := range msgs {
						got := dst.readText(10 * time.Second)
						for strings.HasPrefix(got, `{"hub/`) { // presence, told twice when the device came second
							got = dst.readText(10 * time.Second)
						}
						if got != m {
							t.Fatalf("got %q, want %q", got, m)
						}
					}
				})
			}
		}
	})
	h.alive(t)
	for _, where := range []string{"read", "write", "message", "close"} {
		if n := h.metric(t, `tether_hub_panics_total{where="`+where+`"}`); n != 0 {
			t.Errorf("the hub recovered %v panics (%s)", n, where)
		}
	}
}
