package demo

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"tether/internal/certs"
	"tether/internal/config"
)

// serverTLS loads demo.tls when it is enabled, nil when it is not: the page
// and the command API are then served as https:// and wss:// (the page
// follows its own scheme). Files are relative to the device root,
// certs/server.crt and certs/server.key by default.
func serverTLS(cfg *config.Config) (*tls.Config, error) {
	t := cfg.App.Demo.TLS
	if t == nil || !t.Enabled {
		return nil, nil
	}
	file := func(name, def string) string {
		if name == "" {
			name = def
		}
		if filepath.IsAbs(name) || cfg.Root == "" {
			return name
		}
		return filepath.Join(cfg.Root, name)
	}
	c, err := certs.ServerTLS(file(t.Cert, "certs/server.crt"), file(t.Key, "certs/server.key"), "")
	if err != nil {
		return nil, noRestart{fmt.Errorf("demo.tls: %w", err)}
	}
	c.NextProtos = []string{"http/1.1"} // WebSocket upgrades need HTTP/1.1
	return c, nil
}

// wrapTLS serves TLS on every listener when c is not nil.
func wrapTLS(lns []net.Listener, c *tls.Config) []net.Listener {
	if c == nil {
		return lns
	}
	out := make([]net.Listener, len(lns))
	for i, ln := range lns {
		out[i] = tls.NewListener(ln, c)
	}
	return out
}

// noRestart is a failure a restart cannot fix (bad settings): the device
// goes to recovery at once (package device's "don't restart" contract).
type noRestart struct{ err error }

func (e noRestart) Error() string   { return e.err.Error() }
func (e noRestart) Unwrap() error   { return e.err }
func (e noRestart) NoRestart() bool { return true }
