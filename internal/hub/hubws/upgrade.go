package hubws

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"tether/internal/wsframe"
)

// upgrader is the hub's Upgrader: the handshake by hand, then plain TCP
// connections to the event loops (loop_linux.go) and the rest (TLS) to a
// goroutine each (stream.go).
type upgrader struct {
	o    Options
	once sync.Once
	eng  *engine
}

var _ Upgrader = (*upgrader)(nil)

// NewUpgrader returns the hub's Upgrader. It checks UTF-8 in text messages
// (closing with 1007), enforces opts.MaxMessage (closing with 1009), closes
// with 1002 on any frame RFC 6455 forbids, and never negotiates
// compression. It grants the subprotocol the caller set in w's
// Sec-WebSocket-Protocol header, which must be one the client offered
// (Offered); none when it set none.
func NewUpgrader(opts Options) Upgrader {
	return &upgrader{o: opts.withDefaults()}
}

// errHandshake is a request that asked for an upgrade the wrong way; the
// client was answered with an HTTP error.
var errHandshake = errors.New("bad websocket handshake")

func (u *upgrader) Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (Conn, error) {
	accept, err := checkHandshake(w, r)
	if err != nil {
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("upgrade websocket: %w", err)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"
	if sub := w.Header().Get("Sec-WebSocket-Protocol"); sub != "" {
		resp += "Sec-WebSocket-Protocol: " + sub + "\r\n"
	}
	nc.SetDeadline(time.Now().Add(u.o.HandshakeTimeout))
	_, err = nc.Write([]byte(resp + "\r\n"))
	nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("upgrade websocket: write response: %w", err)
	}
	// the client may have sent frames right behind its request
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		early = bytes.Clone(b)
	}
	c := &conn{h: h, max: u.o.MaxMessage, remote: nc.RemoteAddr()}
	u.once.Do(func() { u.eng = newEngine() })
	drv, ok, err := u.eng.adopt(nc, c, early)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("upgrade websocket: %w", err)
	}
	if !ok {
		drv = newStream(c, nc, u.o.ReadBuffer, early)
	}
	c.drv = drv
	return c, nil
}

// Offered reports whether the client offered subprotocol sub in r's
// Sec-WebSocket-Protocol headers (comma-separated tokens).
func Offered(r *http.Request, sub string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for tok := range strings.SplitSeq(h, ",") {
			if strings.TrimSpace(tok) == sub {
				return true
			}
		}
	}
	return false
}

// checkHandshake checks an upgrade request (RFC 6455 section 4.2.1) and
// returns the Sec-WebSocket-Accept value, or answers the client with the
// HTTP error, closing the connection after it, and returns errHandshake.
func checkHandshake(w http.ResponseWriter, r *http.Request) (string, error) {
	w.Header().Set("Connection", "close") // for a refusal: the client retries on a new connection
	key := r.Header.Get("Sec-WebSocket-Key")
	nonce, kerr := base64.StdEncoding.DecodeString(key)
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "a WebSocket handshake is a GET", http.StatusMethodNotAllowed)
	case !wsframe.IsUpgrade(r):
		http.Error(w, "want Connection: Upgrade and Upgrade: websocket", http.StatusBadRequest)
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "want Sec-WebSocket-Version: 13", http.StatusUpgradeRequired)
	case kerr != nil || len(nonce) != 16:
		http.Error(w, "want a Sec-WebSocket-Key of 16 bytes in base64", http.StatusBadRequest)
	default:
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		return base64.StdEncoding.EncodeToString(sum[:]), nil
	}
	return "", errHandshake
}
