package appserver

import (
	"crypto/tls"
	"log/slog"
	"net"

	"tether/internal/apps"
	"tether/internal/config"
	"tether/internal/devtls"
)

// serverTLS sets up the page's and the command API's TLS (package devtls):
// on when the section's tls says so or, without a tls key, when the device
// root holds certs/server.crt; with tls enabled and no certificate, a
// self-signed one is made on first boot. A Server that is not On means
// plain HTTP, as the seed served. Files that do not load are a failure no
// restart can fix: the device goes to recovery at once.
func serverTLS(cfg *config.Config, opts Options, log *slog.Logger) (*devtls.Server, error) {
	s, err := devtls.Setup(devtls.Options{
		Root:    cfg.Root,
		TLS:     opts.Settings.TLS,
		Section: opts.Section + ".tls",
		Hosts:   devtls.DefaultHosts(cfg.Network.Device.IAm, opts.Settings.HTTP.IP),
		Logger:  log,
	})
	if err != nil {
		return nil, apps.NoRestart(err)
	}
	return s, nil
}

// wrapTLS serves TLS on every listener when c is not nil, answering plain
// HTTP there with a redirect or a refusal.
func wrapTLS(lns []net.Listener, c *tls.Config, log *slog.Logger) []net.Listener {
	if c == nil {
		return lns
	}
	out := make([]net.Listener, len(lns))
	for i, ln := range lns {
		out[i] = devtls.NewListener(ln, c, devtls.ListenOptions{Logger: log})
	}
	return out
}
