// Package demo is the "demo" device application, the seed's main one: it
// serves the device page on app.json's demo.http address and the command
// protocol (package cmdapi) on demo.websocket (one listener when the two are
// the same), drives the device's drivers (a "fake_interface" that
// upper-cases text, and those demo.drivers declares, such as serial ports:
// package drivers), and calls home to the hub (package callhome), serving
// the same command protocol there.
//
// Its items: GET wifi; CMD test_new_sta [ssid, pass], store_new_sta
// [ssid, pass], hal, start_interface, stop_interface, send_message [text].
// docs/PROTOCOL.md is the reference.
package demo

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/callhome"
	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/devtls"
	"tether/internal/drivers"
	_ "tether/internal/drivers/fake" // the fake_interface's kind
	"tether/internal/netif"
	"tether/internal/ops"
	"tether/internal/web"
	"tether/internal/wsconn"
)

func init() {
	apps.Register("demo", func() apps.App { return &App{} })
}

// FakeInterface is the name of the demo's fake driver, the seed's
// "fake_interface": its keys are fake_interface/running and
// fake_interface/msg. Requests that name no driver mean it.
const FakeInterface = drivers.DefaultName

// App is the demo application. The zero value is ready to Run.
type App struct{}

var _ apps.App = (*App)(nil)

// Run serves the page, the command API and call-home until ctx ends, then
// closes every client with 1001 and returns nil within a few seconds. It
// fails if a listener cannot be opened, and fails with an error whose
// NoRestart method says true when the settings are unusable (TLS or
// demo.home files that do not load). TLS follows package devtls: on when
// demo.tls asks for it or the device root holds certs/server.crt.
func (a *App) Run(ctx context.Context, env *apps.Env) error {
	d, err := newInstance(env)
	if err != nil {
		return err
	}
	tlsSrv, err := serverTLS(d.cfg, d.log)
	if err != nil {
		return err
	}
	lns, addrs, err := d.listen(ctx)
	if err != nil {
		return err
	}
	d.tls = tlsSrv
	return d.run(ctx, wrapTLS(lns, tlsSrv.Config, d.log), addrs, env.Ready)
}

// instance is one run of the demo app.
type instance struct {
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
}

func newInstance(env *apps.Env) (*instance, error) {
	cfg := env.Config
	if cfg == nil {
		cfg = config.Default()
	}
	log := cmp.Or(env.Logger, slog.New(slog.DiscardHandler)) // has its component already
	n := env.Net
	if n == nil {
		n = netif.NewManager(netif.Options{Logger: log})
	}
	drv, err := drivers.FromConfig(cfg.App.Demo.Drivers, log)
	if err != nil {
		return nil, noRestart{fmt.Errorf("demo: %w", err)}
	}
	d := &instance{cfg: cfg, net: n, log: log, version: env.Version, drv: drv, ops: env.Ops}
	d.api = cmdapi.New(cmdapi.Options{State: d.state, Logger: log.With("component", "cmdapi")})
	d.ops.Register(d.api)
	d.routes()
	home, call, err := callhome.FromConfig(cfg)
	if err != nil {
		return nil, noRestart{fmt.Errorf("demo: %w", err)}
	}
	home.Logger, home.Report = log, d.ops.HomeReport
	d.home, d.call = home, call
	return d, nil
}

// listen opens demo.http and demo.websocket (once when they are the same).
func (d *instance) listen(ctx context.Context) ([]net.Listener, map[string]string, error) {
	demo := d.cfg.App.Demo
	httpAddr := net.JoinHostPort(demo.HTTP.IP, strconv.Itoa(demo.HTTP.Port))
	wsAddr := net.JoinHostPort(demo.WebSocket.IP, strconv.Itoa(demo.WebSocket.Port))
	var lc net.ListenConfig
	hl, err := lc.Listen(ctx, "tcp", httpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: listen on demo.http %s: %w", httpAddr, err)
	}
	addrs := map[string]string{"http": hl.Addr().String(), "ws": hl.Addr().String()}
	if wsAddr == httpAddr {
		return []net.Listener{hl}, addrs, nil
	}
	wl, err := lc.Listen(ctx, "tcp", wsAddr)
	if err != nil {
		hl.Close()
		return nil, nil, fmt.Errorf("demo: listen on demo.websocket %s: %w", wsAddr, err)
	}
	addrs["ws"] = wl.Addr().String()
	return []net.Listener{hl, wl}, addrs, nil
}

// run serves until ctx ends: the web server on lns, call-home, and a
// broadcast of the state whenever the network changes.
func (d *instance) run(ctx context.Context, lns []net.Listener, addrs map[string]string, ready func(map[string]string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := web.New(web.Options{
		Root:       d.cfg.Root,
		Routes:     d.cfg.App.Demo.Routes,
		API:        d.api,
		MaxMessage: d.cfg.App.Demo.MaxMessage,
		Origins:    d.cfg.App.Demo.Origins,
		WSPort:     wsPort(addrs),
		Logger:     d.log,
	})
	var wg sync.WaitGroup
	wg.Go(func() { d.watchNet(ctx) })
	wg.Go(func() { d.callHome(ctx) })
	wg.Go(func() { d.ops.Run(ctx, d.api) })
	if err := d.drv.StartDeclared(ctx, d.api.Broadcast); err != nil {
		d.log.Warn("drivers not started", "err", err)
	}
	page, api := "http://", "ws://"
	if d.tls.On() {
		page, api = "https://", "wss://"
	}
	d.log.Info("demo serving", "page", page+addrs["http"]+"/", "command_api", api+addrs["ws"]+"/")
	if ready != nil {
		if d.tls.On() { // the keys name the schemes the addresses serve
			addrs = map[string]string{"https": addrs["http"], "wss": addrs["ws"]}
		}
		ready(addrs)
	}
	err := srv.Serve(ctx, lns...)
	cancel()
	wg.Wait()
	d.api.Close()
	stop, done := context.WithTimeout(context.Background(), time.Second)
	defer done()
	d.drv.StopAll(stop)
	return err
}

// callHome serves the command API to the hub until ctx ends. Pings are
// callhome's, so the connection is handed to cmdapi without its Pinger.
func (d *instance) callHome(ctx context.Context) {
	if !d.call {
		d.log.Info("not calling home: demo.home has no address, or is disabled")
		return
	}
	callhome.Run(ctx, d.home, func(ctx context.Context, c *wsconn.Conn) error {
		return d.api.Serve(ctx, noPing{c})
	})
}

// noPing hides wsconn.Conn's Keepalive from cmdapi. Its reads do not end
// with ctx, so that cmdapi's close with 1001 at shutdown is a handshake and
// not a dropped connection (see web's uncut); callhome bounds the wait.
type noPing struct{ c *wsconn.Conn }

func (n noPing) Read(ctx context.Context) (bool, []byte, error) {
	return n.c.Read(context.WithoutCancel(ctx))
}
func (n noPing) Write(ctx context.Context, b []byte) error { return n.c.Write(ctx, b) }
func (n noPing) Close(code int, reason string) error       { return n.c.Close(code, reason) }

// watchNet sends the state to every client when the network changes.
func (d *instance) watchNet(ctx context.Context) {
	ch, stop := d.net.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			d.api.BroadcastState()
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
