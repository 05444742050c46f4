package devauth

import (
	"fmt"
	"net/http"

	"tether/internal/localpeer"
	"tether/internal/web"
)

// forwardHeaders mark a request a proxy passed on: its client is not the
// process at the other end of the connection, so that process's user
// says nothing about who asks.
var forwardHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}

// trusted reports whether r comes from a process on the device that may
// use it without a credential: the guard is on (not strict), r came
// straight (no forwarding header) over loopback from a socket of the
// process's own user or of root, which can read the device root and its
// password hash anyway, and it is addressed to an IP address or a local
// name, not to a name a DNS-rebinding page in a browser on the device
// could have pointed at 127.0.0.1. The socket's owner is found once per
// connection (package localpeer), and only for requests with no
// credential.
func (g *Guard) trusted(r *http.Request) bool {
	if g.mode.Load() != modeOn || !localpeer.Supported || forwarded(r) || !web.LocalName(r.Host) {
		return false
	}
	uid, ok := localpeer.Owner(r)
	return ok && (uid == g.uid || uid == 0)
}

// forwarded reports whether r carries a proxy's forwarding header.
func forwarded(r *http.Request) bool {
	for _, h := range forwardHeaders {
		if len(r.Header.Values(h)) > 0 {
			return true
		}
	}
	return false
}

// announceTrust says in the log which local processes need no password,
// or that none do here.
func (g *Guard) announceTrust() {
	if !localpeer.Supported {
		g.log.Info("no local trust on this system: local processes give the password too")
		return
	}
	who := fmt.Sprintf("uid %d and root", g.uid)
	if g.uid == 0 {
		who = "root (uid 0)"
	}
	g.log.Info("local processes of " + who + ` are trusted on loopback without the password (they can read the device root); "auth": "strict" in app.json asks them too`)
}
