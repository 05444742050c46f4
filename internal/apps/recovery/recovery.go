// Package recovery is the "recovery" device application: what the device
// runs when its app cannot. It needs no valid config. It serves, on one
// port, a page saying why the device is in recovery with the recent log,
// both config files in editable text areas (validated before saving: an
// invalid edit is refused with its located error and nothing is written),
// and a restart button that re-runs boot; the same as JSON endpoints
// (GET /api/status, POST /api/config/{file}, POST /api/restart); and the
// same over the command protocol on a WebSocket upgrade of any path
// (GET status, CMD save_config [file, text], CMD restart).
//
// It serves TLS by the demo app's rule (package devtls): when the device
// root holds certs/server.crt or demo.tls asks for it, showing the
// certificate's fingerprint; when TLS cannot be served it falls back to
// plain HTTP and says why on the page.
//
// It also brings up the access point where the network backend can, so a
// person can reach the device, and calls home when the home address can be
// read, so a hub can repair the device remotely. Both start before it
// listens: an address it cannot listen on falls back to every interface
// on that port, then on env.RecoveryFallback (DefaultAddr unless the
// command line says), retried until one works (listen.go).
//
// The config files it shows (page, GET /api/status, GET status) have their
// secrets masked; a save keeping a mask keeps the value, and only the
// local page may ask to see them, with the device password (secrets.go).
//
// Only same-origin browser requests may change anything: cross-origin POSTs
// are refused (http.CrossOriginProtection) and so are cross-origin
// WebSocket upgrades (wsconn.Accept). Everything on its port asks for the
// device password (package devauth); someone on the device's own access
// point may set a new one without the old (reset.go). Calling home does
// not ask.
package recovery

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/netif"
)

func init() {
	apps.Register("recovery", func() apps.App { return &App{} })
}

// DefaultAddr is where recovery serves when neither --recovery-addr nor the
// demo app's HTTP address can be read.
const DefaultAddr = "0.0.0.0:8080"

// App is the recovery application. The zero value is ready to Run.
type App struct{}

var _ apps.App = (*App)(nil)

// Run serves the recovery page and command API until ctx ends. It calls
// home and brings up the access point first, whether or not it can
// listen: when the address it wants fails (an address the machine lacks,
// a port another program holds) it falls back to every interface on that
// port, then on env.RecoveryFallback (DefaultAddr when ""), and keeps
// trying until one works.
func (a *App) Run(ctx context.Context, env *apps.Env) error {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := Addr(env)
	tlsSrv, tlsSt := setupTLS(env, addr, log)
	s := newServer(env, log)
	s.tls = tlsSt
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { holdAP(ctx, env.Net, log) })
	wg.Go(func() { s.callHome(ctx) })
	wg.Go(func() { env.Ops.Run(ctx, s.cmd) })
	fallback := env.RecoveryFallback
	if fallback == "" {
		fallback = DefaultAddr
	}
	ln := listen(ctx, candidates(addr, fallback), log)
	if ln == nil { // ctx ended before any address worked
		s.shutdown() // the hub's connection, if any
		return nil
	}
	ln, scheme := listenTLS(ln, tlsSrv, log)
	args := []any{"url", scheme + ln.Addr().String() + "/", "reason", reasonText(env.Reason)}
	if tlsSt.On {
		args = append(args, "tls_fingerprint_sha256", tlsSt.Fingerprint)
	}
	log.Info("recovery page up", args...)
	if env.Ready != nil {
		env.Ready(map[string]string{"http": ln.Addr().String()})
	}
	return s.serve(ctx, ln)
}

// Addr is where recovery serves: env.RecoveryAddr, else the HTTP address
// of the app app.json names (its own entry's for a process app, else the
// demo's: config.App.ServedBy) when the config has one, else DefaultAddr.
func Addr(env *apps.Env) string {
	if a := env.RecoveryAddr; a != "" {
		return a
	}
	if env.Config != nil {
		_, served := env.Config.App.ServedBy()
		h := served.HTTP
		if h.Port > 0 && h.Port < 65536 {
			ip := h.IP
			if strings.HasPrefix(ip, "<") {
				ip = "" // a placeholder: every interface
			}
			return net.JoinHostPort(ip, strconv.Itoa(h.Port))
		}
	}
	return DefaultAddr
}

// holdAP brings the access point up, where the backend can, and holds it
// until ctx ends.
func holdAP(ctx context.Context, n *netif.Manager, log *slog.Logger) {
	if n == nil {
		return
	}
	err := n.EnsureAP(ctx)
	switch {
	case errors.Is(err, netif.ErrNotSupported):
		log.Info("staying on the current network: the backend cannot bring up an access point", "err", err)
		return
	case err != nil:
		if ctx.Err() == nil {
			log.Warn("access point for recovery failed", "err", err)
		}
	default:
		log.Info("access point up for recovery", "ssid", n.APConfig().SSID)
	}
	<-ctx.Done()
	n.ReleaseAP()
}

// shutdownGrace bounds the HTTP server's shutdown.
const shutdownGrace = 3 * time.Second
