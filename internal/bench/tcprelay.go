package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// The raw TCP relay: the ceiling a relay's figures are compared with, the
// same devices, pages and numbered messages as through a hub, with no
// WebSocket, no routing state and no checks, only bytes between sockets.
//
// Its protocol: a client's first line is "device ID\n" or "page ID\n"; the
// relay answers "ok\n" once it has registered the connection. Then every
// message, both ways, is a 4-byte big-endian length and that many bytes.
// What a device sends goes to every page of its id, what a page sends to
// its device. The relay cuts what it reads at the last complete message and
// writes that to each receiver in one call, so the messages of two pages
// never interleave on their device.

// tcpRelayMax is the largest message the raw relay takes.
const tcpRelayMax = 1 << 20

// tcpRoom is one device id's connections in the raw relay.
type tcpRoom struct {
	dev   *tcpPeer
	pages []*tcpPeer
}

// tcpPeer is a connection of the raw relay; writes to it are whole.
type tcpPeer struct {
	c  net.Conn
	mu sync.Mutex
}

func (p *tcpPeer) write(b []byte) {
	p.mu.Lock()
	p.c.Write(b) // a failed write: its own reader ends it
	p.mu.Unlock()
}

// tcpRelay is the raw relay's registry of rooms.
type tcpRelay struct {
	mu    sync.RWMutex
	rooms map[string]*tcpRoom
}

// ServeTCPRelay relays messages between the devices and pages that
// connect on ln, until ctx ends; see the protocol above. It closes ln and
// every connection before it returns.
func ServeTCPRelay(ctx context.Context, ln net.Listener) error {
	r := &tcpRelay{rooms: map[string]*tcpRoom{}}
	return serveConns(ctx, ln, r.serve)
}

// serve registers a connection by its first line and relays what it sends.
func (r *tcpRelay) serve(c net.Conn) {
	br := bufio.NewReaderSize(c, 32<<10)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	role, id, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	if id == "" || role != "device" && role != "page" {
		fmt.Fprintf(c, "want \"device ID\" or \"page ID\", got %q\n", line)
		return
	}
	p := &tcpPeer{c: c}
	r.join(role, id, p)
	defer r.leave(id, p)
	p.write([]byte("ok\n"))
	buf := make([]byte, 32<<10)
	n := copy(buf, peekAll(br))
	for {
		m, err := c.Read(buf[n:])
		n += m
		whole := wholeFrames(buf[:n])
		if whole < 0 {
			return
		}
		if whole > 0 {
			r.forward(role, id, buf[:whole])
			n = copy(buf, buf[whole:n])
		}
		if err != nil {
			return
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // one message bigger than the buffer
		}
	}
}

// peekAll returns what br has buffered past the first line.
func peekAll(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

// wholeFrames returns the length of the complete messages at b's start, or
// -1 for a message over tcpRelayMax.
func wholeFrames(b []byte) int {
	i := 0
	for len(b)-i >= 4 {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n > tcpRelayMax {
			return -1
		}
		if len(b)-i-4 < n {
			break
		}
		i += 4 + n
	}
	return i
}

func (r *tcpRelay) join(role, id string, p *tcpPeer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.rooms[id]
	if room == nil {
		room = &tcpRoom{}
		r.rooms[id] = room
	}
	if role == "device" {
		room.dev = p
	} else {
		room.pages = append(room.pages[:len(room.pages):len(room.pages)], p)
	}
}

func (r *tcpRelay) leave(id string, p *tcpPeer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.rooms[id]
	if room.dev == p {
		room.dev = nil
	}
	pages := make([]*tcpPeer, 0, len(room.pages))
	for _, q := range room.pages {
		if q != p {
			pages = append(pages, q)
		}
	}
	room.pages = pages
}

// forward writes b, whole messages from a device (to its pages) or a page
// (to its device).
func (r *tcpRelay) forward(role, id string, b []byte) {
	r.mu.RLock()
	room := r.rooms[id]
	dev, pages := room.dev, room.pages
	r.mu.RUnlock()
	if role == "page" {
		if dev != nil {
			dev.write(b)
		}
		return
	}
	for _, p := range pages {
		p.write(b)
	}
}

// tcpTransport is the raw TCP relay (ServeTCPRelay) at URL tcp://HOST:PORT.
type tcpTransport struct{ o RelayOptions }

func (t tcpTransport) device(ctx context.Context, id string) (msgConn, error) {
	return dialTCPRelay(ctx, t.o.URL, "device "+id)
}

func (t tcpTransport) page(ctx context.Context, id string, _ int) (msgConn, error) {
	return dialTCPRelay(ctx, t.o.URL, "page "+id)
}

func (tcpTransport) presence() bool { return false }

// dialTCPRelay connects to the raw relay at url and registers as hello
// ("device ID" or "page ID"), waiting for its "ok".
func dialTCPRelay(ctx context.Context, url, hello string) (msgConn, error) {
	addr, ok := strings.CutPrefix(url, "tcp://")
	if !ok {
		return nil, fmt.Errorf("raw tcp relay: got url %q, want tcp://HOST:PORT", url)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("raw tcp relay: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	ok3 := make([]byte, 3)
	if _, err := io.WriteString(c, hello+"\n"); err == nil {
		_, err = io.ReadFull(c, ok3)
	}
	if err == nil && string(ok3) != "ok\n" {
		err = fmt.Errorf("got %q, want \"ok\"", ok3)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("raw tcp relay %s: %s: %w", addr, hello, err)
	}
	c.SetDeadline(time.Time{})
	return &tcpMsgConn{c: c}, nil
}

// tcpMsgConn is a msgConn on the raw relay.
type tcpMsgConn struct {
	c   net.Conn
	mu  sync.Mutex
	out []byte
}

func (t *tcpMsgConn) WriteMsg(p []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.out = binary.BigEndian.AppendUint32(t.out[:0], uint32(len(p)))
	t.out = append(t.out, p...)
	_, err := t.c.Write(t.out)
	return err
}

func (t *tcpMsgConn) ReadLoop(fn func(bool, []byte)) error {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := t.c.Read(buf[n:])
		n += m
		i := 0
		for n-i >= 4 {
			size := int(binary.BigEndian.Uint32(buf[i:]))
			if size > tcpRelayMax {
				return fmt.Errorf("message of %d bytes, over %d", size, tcpRelayMax)
			}
			if n-i-4 < size {
				break
			}
			fn(false, buf[i+4:i+4+size])
			i += 4 + size
		}
		n = copy(buf, buf[i:n])
		if err != nil {
			return err
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
}

func (t *tcpMsgConn) Close() { t.c.Close() }
