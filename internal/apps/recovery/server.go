package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"tether/internal/apps"
	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/httpjson"
	"tether/internal/localpeer"
	"tether/internal/web"
	"tether/internal/wire"
	"tether/internal/wsconn"
	"tether/internal/wsframe"
)

// Limits on what clients send.
const (
	maxBody    = 256 << 10 // one config file, as JSON or text
	maxMessage = 512 << 10 // one command-protocol message
)

// files are the config files recovery shows and saves, in page order.
var files = []string{config.NetworkFile, config.AppFile}

// server is one run of the recovery app.
type server struct {
	env *apps.Env
	log *slog.Logger
	cmd *cmdapi.Server
	tls tlsState // set before serving
}

// writeGrace is how long, once shutdown starts, command clients have to
// take what is queued for them (a restart's reply) before they are dropped.
const writeGrace = 1500 * time.Millisecond

func newServer(env *apps.Env, log *slog.Logger) *server {
	s := &server{env: env, log: log}
	s.cmd = cmdapi.New(cmdapi.Options{State: s.state, Logger: log})
	env.Ops.Register(s.cmd) // tether's operator items; recovery's own below win
	s.cmd.Handle(wire.Get, "status", s.cmdStatus)
	s.cmd.Handle(wire.Cmd, "save_config", s.cmdSave)
	s.cmd.Handle(wire.Cmd, "restart", s.cmdRestart)
	s.cmd.Handle(wire.Get, "help", s.cmd.HelpHandler("recovery", nil))
	for _, it := range []cmdapi.Item{
		{Kind: wire.Get, Name: "status", Doc: "why the device is in recovery, the recent log and both config files (recovery/...)"},
		{Kind: wire.Cmd, Name: "save_config", Doc: "checks and saves a config file; nothing is written when it has errors",
			Args: []cmdapi.Arg{{Name: "file", Type: "string"}, {Name: "text", Type: "string"}}},
		{Kind: wire.Cmd, Name: "restart", Doc: "boots again: reads the config and starts the app it names"},
		{Kind: wire.Get, Name: "help", Doc: "this description: every item with its arguments"},
	} {
		s.cmd.Describe(it)
	}
	return s
}

// root is the device root, "" when the device runs on embedded defaults.
func (s *server) root() string {
	if s.env.Config == nil {
		return ""
	}
	return s.env.Config.Root
}

// serve runs the HTTP server on ln until ctx ends, then closes command
// clients with 1001 and shuts the server down.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler(ctx),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ConnContext:       localpeer.ConnContext, // who a loopback client is, looked up once per connection
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	err := web.RunHTTP(ctx, hs, func() {
		s.shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		hs.Shutdown(sctx)
	}, ln)
	if err != nil {
		return fmt.Errorf("serve recovery page: %w", err)
	}
	return nil
}

// shutdown lets command clients flush what is queued for them (a
// restart's reply) and close with 1001, within writeGrace, then drops any
// that are left.
func (s *server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), writeGrace)
	defer cancel()
	if s.cmd.Shutdown(ctx) != nil {
		s.cmd.Close()
	}
}

// handler is the route table: a WebSocket upgrade on any path goes to the
// command API; everything else to the page and its JSON endpoints, behind
// cross-origin protection. All of it asks for the device password
// (package devauth), after the Host check.
func (s *server) handler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(staticFS)))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/api/status", only(http.MethodGet, s.apiStatus))
	mux.HandleFunc("/api/config/{file}", only(http.MethodPost, s.apiSave))
	mux.HandleFunc("/api/restart", only(http.MethodPost, s.apiRestart))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s; see GET /api/status", r.URL.Path))
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, http.StatusForbidden, "cross-origin request refused: use the recovery page itself")
	}))
	page := cop.Handler(mux)
	guarded := s.env.Auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsframe.IsUpgrade(r) {
			s.websocket(ctx, w, r)
			return
		}
		page.ServeHTTP(w, r)
	}), devauth.HandlerOptions{Device: s.device(), Recovery: true, TLS: s.tls.On, Reset: s.onAP})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil && !web.LocalName(r.Host) {
			s.log.Info("refused request", "remote", r.RemoteAddr, "host", r.Host, "origin", r.Header.Get("Origin"))
			httpjson.Error(w, http.StatusForbidden, fmt.Sprintf("recovery answers requests addressed to the device by IP address or local name, got Host %q: "+
				"a page under another name could be a DNS-rebinding attack; open the device's address instead", r.Host))
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// device is the device id, "" when the config names none.
func (s *server) device() string {
	if s.env.Config == nil {
		return ""
	}
	return s.env.Config.Network.Device.IAm
}

// websocket serves the command protocol on an upgraded connection.
func (s *server) websocket(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	c, err := wsconn.Accept(w, r, wsconn.AcceptOptions{Options: wsconn.Options{ReadLimit: maxMessage}})
	if err != nil {
		s.log.Info("refused WebSocket", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	s.log.Info("command client connected", "remote", r.RemoteAddr)
	ctx, stop := wsconn.ServeContext(ctx, r)
	defer stop()
	err = c.WithKeepalive(ctx, wsconn.DefaultPingInterval, func() error { return s.cmd.Serve(ctx, c) })
	s.log.Info("command client gone", "remote", r.RemoteAddr, "err", err)
}

// only answers other methods than method with 405 and a JSON error.
func only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			httpjson.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed, want %s", r.Method, r.URL.Path, method))
			return
		}
		h(w, r)
	}
}

// readFile returns a config file's text with its secrets masked, unless
// reveal; "" with a note when it cannot.
func (s *server) readFile(name string, reveal bool) (text, note string) {
	root := s.root()
	if root == "" {
		return "", "no device root: the device runs on its embedded defaults (start it with --root DIR to edit files)"
	}
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return "", fmt.Sprintf("cannot read %s: %v", name, err)
	}
	if !reveal {
		b = config.MaskSecrets(b)
	}
	return string(b), ""
}

// save validates and writes one config file, its secrets still masked
// as shown put back from the file on disk, with the device's checks
// (apps.ConfigChecks: an unknown app is refused, a listen address the
// machine lacks is a warning), returning a located error for an invalid
// one (then nothing is written), else the warnings, one per line.
func (s *server) save(name, text string) (warnings []string, err error) {
	if name != config.NetworkFile && name != config.AppFile {
		return nil, fmt.Errorf("save config: got file %q, want %s or %s", name, config.NetworkFile, config.AppFile)
	}
	root := s.root()
	if root == "" {
		return nil, errors.New("save config: no device root (the device was started without --root), nothing to save to")
	}
	data, err := s.unmask(name, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	checks := apps.ConfigChecks()
	if err := checks.Save(root, name, data); err != nil {
		return nil, fmt.Errorf("save %s: %s", name, config.Describe(err))
	}
	s.log.Info("config file saved", "file", name, "root", root)
	for _, p := range checks.Validate(name, data) {
		warnings = append(warnings, "warning: "+p.String())
	}
	return warnings, nil
}

// restart asks the device to boot again, once the reply is on its way.
func (s *server) restart() {
	if s.env.Restart == nil {
		s.log.Warn("restart asked, but this recovery runs outside a device")
		return
	}
	s.log.Info("restart asked: booting again")
	s.env.Restart()
}
