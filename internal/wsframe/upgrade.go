package wsframe

import (
	"net/http"
	"strings"
)

// IsUpgrade reports whether r asks for a WebSocket upgrade (RFC 6455
// section 4.1: "Connection" holds the token "Upgrade" and "Upgrade" is
// "websocket", in any case). Every server of tether routes requests by it:
// the hub's ports, the device's web server and recovery.
func IsUpgrade(r *http.Request) bool {
	return hasToken(r.Header.Get("Connection"), "upgrade") &&
		strings.EqualFold(strings.TrimSpace(r.Header.Get("Upgrade")), "websocket")
}

// hasToken reports whether the comma-separated header value v holds token.
func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}
