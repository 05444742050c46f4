package wsconn

import (
	"fmt"
	"strings"

	"github.com/coder/websocket"
)

// unanswered are the protocol errors coder/websocket (v1.8) returns from a
// read without sending a close frame of its own, with the close reason
// tether sends for each. It answers every other protocol error (reserved
// opcodes and bits, bad control frames, bad continuations, bad close
// payloads) with 1002 itself. Matching its messages is fragile by nature:
// the raw-frame tests (integration/devframes_test.go) fail when a new
// version words them differently.
var unanswered = []struct{ msg, reason string }{
	{"received unmasked frame from client", "protocol error: unmasked frame from a client"},
	{"received negative payload length", "protocol error: frame length of 2^63 or more"},
}

// AnswerReadError answers a read error of ws that the library left
// unanswered: a frame breaking RFC 6455 closes the connection with 1002
// and the error returned wraps ErrProtocol. Other errors are returned as
// they are. Read calls it; code reading a *websocket.Conn directly (the
// echoserver) calls it on every read error.
func AnswerReadError(ws *websocket.Conn, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, u := range unanswered {
		if strings.Contains(msg, u.msg) {
			ws.Close(StatusProtocol, u.reason)
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
	}
	return err
}
