// Package appserver runs what every app tether serves shares: the device
// page on the app's http address and the command protocol (package
// cmdapi) on its websocket address (one listener when the two are the
// same), TLS (package devtls), calling home to the hub (package callhome)
// with the same command protocol there, and tether's own items beside the
// app's: GET wifi, CMD test_new_sta and store_new_sta, GET help, the
// operator items (package ops) and, when the app asks, the driver items
// (CMD hal, start_interface, stop_interface, send_message over package
// drivers). The demo app and process apps are built on it: an app adds
// its own items to API and its keys to the state object.
//
// The settings are app.json's served keys (config.Served: http,
// websocket, home, routes, origins, max_message, tls, drivers) from the
// app's section: "demo", or a process app's own entry.
//
// Every request to the page and the command API (both listeners) goes
// through the device password's guard (package devauth, apps.Env.Auth);
// calling home does not.
package appserver

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/callhome"
	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/devtls"
	"tether/internal/drivers"
	_ "tether/internal/drivers/fake" // the fake_interface's kind
	"tether/internal/netif"
	"tether/internal/ops"
	"tether/internal/web"
	"tether/internal/wire"
)

// Options say which app a Server serves.
type Options struct {
	// Name is the app's name: the state's "app" key and GET help's "app".
	Name string
	// Section is app.json's section Settings come from ("demo",
	// "weather"), named in messages.
	Section string
	// Settings are the page, command API, call-home, TLS and driver
	// settings.
	Settings config.Served
	// DriverItems serves CMD hal, start_interface, stop_interface and
	// send_message over the drivers: the fake interface and those
	// Settings declare. False serves no drivers, and leaves the names to
	// the app.
	DriverItems bool
	// State adds the app's own keys to the state object; nil adds none.
	// It must not call Broadcast.
	State func(m wire.Message)
	// StateKeys describe the app's state keys for GET help; nil: none.
	StateKeys func() []cmdapi.Key
	// DriverTap, when set, is also handed every message the drivers
	// produce (after every client has it): a process app's program hears
	// them. It must not block.
	DriverTap func(m wire.Message)
	// Page is a folder under the device root whose files are the page,
	// replacing the embedded one; "" means Settings.Routes, else the
	// embedded page.
	Page string
}

// Server is one run of a served app. Make it with New, add the app's items
// to API, then Run it.
type Server struct {
	opts    Options
	cfg     *config.Config
	net     *netif.Manager
	log     *slog.Logger
	version string // tether's, for the state
	drv     *drivers.Set
	api     *cmdapi.Server
	home    callhome.Options
	call    bool           // home is set
	tls     *devtls.Server // On: https:// and wss://
	ops     *ops.Session   // tether's operator items; nil outside a device
	auth    *devauth.Guard // the device password; nil outside a device
	ready   func(map[string]string)
}

// New prepares a Server for env's device. It fails with an error whose
// NoRestart method says true when the settings are unusable (drivers that
// cannot be made, TLS or home files that do not load). TLS follows
// package devtls: on when the section's tls asks for it or the device root
// holds certs/server.crt.
func New(env *apps.Env, opts Options) (*Server, error) {
	cfg := env.Config
	if cfg == nil {
		cfg = config.Default()
	}
	log := cmp.Or(env.Logger, slog.New(slog.DiscardHandler)) // has its app key already
	n := env.Net
	if n == nil {
		n = netif.NewManager(netif.Options{Logger: log})
	}
	s := &Server{opts: opts, cfg: cfg, net: n, log: log, version: env.Version, ops: env.Ops, auth: env.Auth, ready: env.Ready}
	tlsSrv, err := serverTLS(cfg, opts, log)
	if err != nil {
		return nil, err
	}
	s.tls = tlsSrv
	if opts.DriverItems {
		drv, err := drivers.FromConfig(opts.Settings.Drivers, log)
		if err != nil {
			return nil, apps.NoRestart(fmt.Errorf("%s: %w", opts.Name, err))
		}
		s.drv = drv
	}
	s.api = cmdapi.New(cmdapi.Options{State: s.state, Logger: log.With("component", "cmdapi")})
	s.ops.Register(s.api)
	s.routes()
	home, call, err := callhome.FromServed(cfg, opts.Section, opts.Settings)
	if err != nil {
		return nil, apps.NoRestart(fmt.Errorf("%s: %w", opts.Name, err))
	}
	home.Logger, home.Report = log, s.ops.HomeReport
	s.home, s.call = home, call
	return s, nil
}

// API is the command API: the app registers its items on it before Run,
// and broadcasts with it.
func (s *Server) API() *cmdapi.Server { return s.api }

// Run serves the page, the command API and call-home until ctx ends, then
// closes every client with 1001 and returns nil within a few seconds. It
// fails if a listener cannot be opened.
func (s *Server) Run(ctx context.Context) error {
	lns, addrs, err := s.listen(ctx)
	if err != nil {
		return err
	}
	return s.run(ctx, wrapTLS(lns, s.tls.Config, s.log), addrs)
}

// listen opens http and websocket (once when they are the same).
func (s *Server) listen(ctx context.Context) ([]net.Listener, map[string]string, error) {
	set, sec := s.opts.Settings, s.opts.Section
	httpAddr := net.JoinHostPort(set.HTTP.IP, strconv.Itoa(set.HTTP.Port))
	wsAddr := net.JoinHostPort(set.WebSocket.IP, strconv.Itoa(set.WebSocket.Port))
	var lc net.ListenConfig
	hl, err := lc.Listen(ctx, "tcp", httpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: listen on %s.http %s: %w", s.opts.Name, sec, httpAddr, err)
	}
	addrs := map[string]string{"http": hl.Addr().String(), "ws": hl.Addr().String()}
	if wsAddr == httpAddr {
		return []net.Listener{hl}, addrs, nil
	}
	wl, err := lc.Listen(ctx, "tcp", wsAddr)
	if err != nil {
		hl.Close()
		return nil, nil, fmt.Errorf("%s: listen on %s.websocket %s: %w", s.opts.Name, sec, wsAddr, err)
	}
	addrs["ws"] = wl.Addr().String()
	return []net.Listener{hl, wl}, addrs, nil
}

// run serves until ctx ends: the web server on lns, call-home, and a
// broadcast of the state whenever the network changes.
func (s *Server) run(ctx context.Context, lns []net.Listener, addrs map[string]string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := web.New(web.Options{
		Root:       s.cfg.Root,
		Routes:     s.pageRoutes(),
		API:        s.api,
		MaxMessage: s.opts.Settings.MaxMessage,
		Origins:    s.opts.Settings.Origins,
		WSPort:     wsPort(addrs),
		Logger:     s.log,
		Wrap:       s.guard,
	})
	var wg sync.WaitGroup
	wg.Go(func() { s.watchNet(ctx) })
	wg.Go(func() { s.callHome(ctx) })
	wg.Go(func() { s.ops.Run(ctx, s.api) })
	if s.drv != nil {
		if err := s.drv.StartDeclared(ctx, s.driverOut); err != nil {
			s.log.Warn("drivers not started", "err", err)
		}
	}
	page, api := "http://", "ws://"
	if s.tls.On() {
		page, api = "https://", "wss://"
	}
	s.log.Info(s.opts.Name+" serving", "page", page+addrs["http"]+"/", "command_api", api+addrs["ws"]+"/")
	if s.ready != nil {
		if s.tls.On() { // the keys name the schemes the addresses serve
			addrs = map[string]string{"https": addrs["http"], "wss": addrs["ws"]}
		}
		s.ready(addrs)
	}
	err := srv.Serve(ctx, lns...)
	cancel()
	wg.Wait()
	s.api.Close()
	if s.drv != nil {
		stop, done := context.WithTimeout(context.Background(), time.Second)
		defer done()
		s.drv.StopAll(stop)
	}
	return err
}

// guard wraps the web server's handler in the device password's check
// (package devauth): the page, its routes and the command API alike.
func (s *Server) guard(h http.Handler) http.Handler {
	return s.auth.Handler(h, devauth.HandlerOptions{Device: s.cfg.Network.Device.IAm, TLS: s.tls.On()})
}

// callHome serves the command API to the hub until ctx ends (callhome runs
// the connection's keepalive).
func (s *Server) callHome(ctx context.Context) {
	if !s.call {
		s.log.Info("not calling home: " + s.opts.Section + ".home has no address, or is disabled")
		return
	}
	callhome.RunAPI(ctx, s.home, s.api)
}

// watchNet sends the state to every client when the network changes.
func (s *Server) watchNet(ctx context.Context) {
	ch, stop := s.net.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			s.api.BroadcastState()
		}
	}
}

// wsPort is the command API's port for the page to connect to, or 0 when
// the page's own port serves it.
func wsPort(addrs map[string]string) int {
	if addrs["ws"] == addrs["http"] {
		return 0
	}
	_, p, _ := net.SplitHostPort(addrs["ws"])
	n, _ := strconv.Atoi(p)
	return n
}
