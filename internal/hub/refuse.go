package hub

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// Request bounds of both ports: how long a request's headers and its
// whole body may take to arrive. A WebSocket upgrade clears the deadline
// before the handshake; a login form arrives in far less.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 15 * time.Second
)

// refuseUpgrade answers a WebSocket upgrade (or any request on the device
// port) that will not be upgraded with code and msg, then ends the TCP
// connection at once: "Connection: close", and the hub stops reading what
// the client still sends (a body, frames) rather than waiting for it. A
// device whose token is refused retries on a fresh connection; holding the
// old one open only leaks sockets on both sides.
func refuseUpgrade(w http.ResponseWriter, code int, msg string) {
	body := msg + "\n"
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body))) // whole without the end of a chunked body
	w.WriteHeader(code)
	io.WriteString(w, body)
	closeNow(w)
}

// closeNow ends the connection of a request whose response is written
// (with its length: a chunked body would end without its last chunk): the
// response is flushed, the hub's side closed, and the connection closed
// once the client closes its side or after half a second (so that the
// client reads the response before it sees the connection go, rather than
// a reset that could discard it).
func closeNow(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.Flush() // a hijack takes the connection as it is: what is buffered would be lost
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
}

// clearReadDeadline lifts the request read deadline before an upgrade: the
// WebSocket that follows lives for as long as it is kept alive.
func clearReadDeadline(w http.ResponseWriter) {
	http.NewResponseController(w).SetReadDeadline(time.Time{})
}
