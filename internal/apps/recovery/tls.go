package recovery

import (
	"log/slog"
	"net"

	"tether/internal/apps"
	"tether/internal/apps/recovery/page"
	"tether/internal/devtls"
)

// tlsState is the recovery page's TLS as the page, GET /api/status and the
// state object show it.
type tlsState = page.TLS

// setupTLS decides the recovery page's TLS by the same rule as the demo
// app, whose HTTP address recovery takes over (package devtls, demo.tls,
// or a process app's own tls key): on when it asks or the device root holds certs/server.crt. When TLS
// is wanted but cannot be served (the very fault that may have brought the
// device here), recovery serves plain HTTP and says so: it must stay
// reachable.
func setupTLS(env *apps.Env, addr string, log *slog.Logger) (*devtls.Server, tlsState) {
	opts := devtls.Options{Section: "demo.tls", Logger: log}
	if c := env.Config; c != nil {
		section, served := c.App.ServedBy()
		opts.Root, opts.TLS, opts.Section = c.Root, served.TLS, section+".tls"
		host, _, _ := net.SplitHostPort(addr)
		opts.Hosts = devtls.DefaultHosts(c.Network.Device.IAm, host)
	}
	srv, err := devtls.Setup(opts)
	if err != nil {
		log.Warn("recovery serves plain HTTP: TLS cannot be served", "err", err)
		return nil, tlsState{Problem: err.Error(), Why: "TLS is wanted but cannot be served"}
	}
	if !srv.On() {
		return srv, tlsState{Why: srv.Why}
	}
	return srv, tlsState{On: true, Fingerprint: srv.Fingerprint, Cert: srv.CertFile, Why: srv.Why}
}

// listenTLS wraps ln in TLS when srv is on, answering plain HTTP there.
func listenTLS(ln net.Listener, srv *devtls.Server, log *slog.Logger) (net.Listener, string) {
	if !srv.On() {
		return ln, "http://"
	}
	return devtls.NewListener(ln, srv.Config, devtls.ListenOptions{Logger: log}), "https://"
}
