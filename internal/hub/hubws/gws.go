package hubws

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lxzan/gws"
)

// gwsUpgrader is the Upgrader on lxzan/gws: one reading goroutine per
// connection (Conn.Run), no writer goroutine, a pooled read buffer.
type gwsUpgrader struct {
	up         *gws.Upgrader
	readBuffer int
	maxMessage int
}

var _ Upgrader = (*gwsUpgrader)(nil)

// NewUpgrader returns the hub's Upgrader. It checks UTF-8 in text messages
// (closing with 1007), enforces opts.MaxMessage (closing with 1009) and
// never negotiates compression.
func NewUpgrader(opts Options) Upgrader {
	o := opts.withDefaults()
	return &gwsUpgrader{readBuffer: o.ReadBuffer, maxMessage: o.MaxMessage, up: gws.NewUpgrader(events{}, &gws.ServerOption{
		ReadMaxPayloadSize:  o.MaxMessage,
		WriteMaxPayloadSize: 1 << 30,
		CheckUtf8Enabled:    true,
		HandshakeTimeout:    o.HandshakeTimeout,
		NewSession:          func() gws.SessionStorage { return &slot{} },
		Logger:              quietLogger{},
	})}
}

func (u *gwsUpgrader) Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (Conn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("upgrade websocket: connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("upgrade websocket: %w", err)
	}
	bc := &batchConn{Conn: nc}
	// The server's reader may hold bytes the client sent after its
	// request: gws reads them first.
	var src io.Reader = bc
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), bc)
	}
	// gws reads through a guard that refuses the frame headers it would
	// mishandle (frameGuard).
	src = newFrameGuard(src, u.maxMessage, bc.closeWith)
	socket, err := u.up.UpgradeFromConn(bc, bufio.NewReaderSize(src, u.readBuffer), r)
	if err != nil {
		return nil, fmt.Errorf("upgrade websocket: %w", err)
	}
	socket.Session().(*slot).h = h
	bc.onRead = h.OnReadWait
	return &gwsConn{Conn: socket, bc: bc}, nil
}

// gwsConn is a *gws.Conn seen through Conn.
type gwsConn struct {
	*gws.Conn
	bc *batchConn
}

func (c *gwsConn) g() *gws.Conn { return c.Conn }

func (c *gwsConn) Hold()        { c.bc.hold() }
func (c *gwsConn) Flush() error { return c.bc.flush() }

func (c *gwsConn) Run() { c.g().ReadLoop() }

func (c *gwsConn) Write(kind Kind, p []byte) error {
	op := gws.OpcodeText
	if kind == Binary {
		op = gws.OpcodeBinary
	}
	return c.g().WriteMessage(op, p)
}

// WritePrepared writes the frame through the socket wrapper, which gws's
// own writes also go through one whole frame at a time, so frames never
// interleave; after a close frame the wrapper refuses more.
func (c *gwsConn) WritePrepared(m *Prepared) error {
	_, err := c.bc.Write(m.frame)
	return err
}

func (c *gwsConn) Ping(p []byte) error { return c.g().WritePing(p) }
func (c *gwsConn) Pong(p []byte) error { return c.g().WritePong(p) }

func (c *gwsConn) Close(code int, reason string) error {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	err := c.g().WriteClose(uint16(code), []byte(reason))
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (c *gwsConn) SetWriteDeadline(t time.Time) error { return c.bc.SetWriteDeadline(t) }
func (c *gwsConn) RemoteAddr() net.Addr               { return c.bc.RemoteAddr() }

// events forwards gws's events to the connection's Handler.
type events struct{}

func handler(s *gws.Conn) Handler { return s.Session().(*slot).h }

func (events) OnOpen(*gws.Conn) {}

func (events) OnClose(s *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		handler(s).OnClose(int(ce.Code), string(ce.Reason), nil)
		return
	}
	if err != nil && err.Error() == "" {
		err = nil
	}
	handler(s).OnClose(0, "", err)
}

func (events) OnPing(s *gws.Conn, p []byte) { handler(s).OnPing(p) }
func (events) OnPong(s *gws.Conn, p []byte) { handler(s).OnPong(p) }

func (events) OnMessage(s *gws.Conn, m *gws.Message) {
	kind := Text
	if m.Opcode == gws.OpcodeBinary {
		kind = Binary
	}
	handler(s).OnMessage(kind, m.Bytes())
	_ = m.Close()
}

// slot is a one-value gws.SessionStorage holding the Handler: gws's default
// storage is a map per connection, which costs memory on idle connections.
type slot struct{ h Handler }

func (*slot) Len() int                     { return 1 }
func (*slot) Load(string) (any, bool)      { return nil, false }
func (*slot) Delete(string)                {}
func (*slot) Store(string, any)            {}
func (*slot) Range(func(string, any) bool) {}
func (quietLogger) Error(...any)           {}

// quietLogger drops gws's own log lines; the hub logs what matters.
type quietLogger struct{}

func headerHasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }
