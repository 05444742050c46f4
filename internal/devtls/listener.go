package devtls

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"tether/internal/wsframe"
)

// DefaultSniffTimeout bounds how long a new connection may take to send its
// first bytes (and, for plain HTTP, its request) before it is dropped.
const DefaultSniffTimeout = 10 * time.Second

// ListenOptions configure NewListener. The zero value works.
type ListenOptions struct {
	// SniffTimeout is DefaultSniffTimeout when zero.
	SniffTimeout time.Duration
	// Logger receives plain-HTTP refusals at debug level; nil discards.
	Logger *slog.Logger
}

// Listener serves TLS on a listener and answers anything else, plain HTTP
// on the same port, in plain text: a GET or HEAD of a page is redirected
// (307) to its https:// URL, anything else (a ws:// upgrade, a POST, bytes
// that are not HTTP) gets 400 saying to use https:// and wss://. It tells
// them apart by the first byte: 0x16 opens a TLS handshake.
//
// Each new connection is sniffed in its own goroutine, so a silent client
// never holds up the others. Close closes the listener and waits for every
// goroutine it started.
type Listener struct {
	inner net.Listener
	cfg   *tls.Config
	opts  ListenOptions
	log   *slog.Logger

	accepted chan accepted
	done     chan struct{}
	once     sync.Once
	closeErr error
	wg       sync.WaitGroup

	mu      sync.Mutex
	sniffed map[net.Conn]struct{} // connections being sniffed
}

type accepted struct {
	c   net.Conn
	err error
}

var _ net.Listener = (*Listener)(nil)

// NewListener serves cfg's TLS on ln; see Listener.
func NewListener(ln net.Listener, cfg *tls.Config, opts ListenOptions) *Listener {
	if opts.SniffTimeout <= 0 {
		opts.SniffTimeout = DefaultSniffTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		inner: ln, cfg: cfg, opts: opts, log: log,
		accepted: make(chan accepted),
		done:     make(chan struct{}),
		sniffed:  map[net.Conn]struct{}{},
	}
	l.wg.Go(l.acceptLoop)
	return l
}

// Accept returns the next TLS connection (a *tls.Conn, its handshake not
// yet done), or the inner listener's error.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Close closes the inner listener, drops connections still being sniffed
// and waits for its goroutines. It may be called more than once.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.closeErr = l.inner.Close()
		close(l.done)
		l.mu.Lock()
		for c := range l.sniffed {
			c.SetDeadline(time.Now()) // the sniffer returns and closes it
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return l.closeErr
}

// acceptLoop hands each new connection to a sniffer, and the inner
// listener's errors to Accept, until the listener closes.
func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if !l.deliver(accepted{err: err}) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !l.track(c) {
			c.Close()
			return
		}
		l.wg.Go(func() { l.sniff(c) })
	}
}

// deliver hands a to Accept; false when the listener closed first.
func (l *Listener) deliver(a accepted) bool {
	select {
	case l.accepted <- a:
		return true
	case <-l.done:
		return false
	}
}

// track adds c to the connections being sniffed; false once closed.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return false
	default:
	}
	l.sniffed[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.sniffed, c)
	l.mu.Unlock()
}

// sniff reads c's first byte: a TLS handshake goes to Accept, anything
// else gets the plain-text answer.
func (l *Listener) sniff(c net.Conn) {
	defer l.untrack(c)
	c.SetDeadline(time.Now().Add(l.opts.SniffTimeout))
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil {
		c.Close()
		return
	}
	pc := &prefixConn{Conn: c, prefix: first}
	if first[0] != 0x16 {
		l.refuse(pc)
		return
	}
	c.SetDeadline(time.Time{}) // http.Server sets its own
	if !l.deliver(accepted{c: tls.Server(pc, l.cfg)}) {
		c.Close()
	}
}

// refuse answers plain HTTP on the TLS port and closes the connection.
func (l *Listener) refuse(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	host := l.inner.Addr().String()
	if err == nil && validHost(req.Host) {
		host = req.Host
	}
	code, body, location := http.StatusBadRequest, refusal(host), ""
	if err == nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) && !wsframe.IsUpgrade(req) {
		location = "https://" + host + req.URL.RequestURI()
		code, body = http.StatusTemporaryRedirect, "This port serves HTTPS: go to "+location+"\n"
	}
	l.log.Debug("plain HTTP on the TLS port", "remote", c.RemoteAddr().String(), "answer", code)
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	if location != "" {
		fmt.Fprintf(&b, "Location: %s\r\n", location)
	}
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(c, b.String()); err != nil {
		return
	}
	lingerClose(c)
}

// validHost reports whether h looks like host[:port], safe to echo back.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_:[]", c)) {
			return false
		}
	}
	return true
}

// refusal explains, in plain text, that host serves TLS only.
func refusal(host string) string {
	return "This port serves TLS only: use https://" + host + "/ for the page and wss://" + host +
		"/ for the WebSocket API, not http:// or ws://.\n"
}

// lingerClose stops writing and drains what the client still sends (until
// it closes or the deadline), so the answer is not lost to a reset.
func lingerClose(c net.Conn) {
	pc, ok := c.(*prefixConn)
	if !ok {
		return
	}
	if tc, ok := pc.Conn.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	pc.Conn.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(pc.Conn, 64<<10))
}

// prefixConn replays bytes already read from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
