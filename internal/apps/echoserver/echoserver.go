// Package echoserver is the "echoserver" device application: a WebSocket
// echo server on app.json's echoserver.listen_addr:listen_port (wss:// when
// echoserver.tls is enabled). It echoes
// text and binary messages on any path, up to echoserver.max_message bytes
// (default 1 MiB; a larger message closes the connection with 1009), closes
// text that is not UTF-8 with 1007, answers pings, and on shutdown closes
// every client with 1001. Programs connect from anywhere; browsers only from
// a page of the same origin.
//
// It is a benchmark target, so each connection is one goroutine that reads a
// message into a buffer it reuses and writes it straight back: no queue, no
// extra goroutine, no copy per message.
package echoserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"tether/internal/apps"
	"tether/internal/config"
	"tether/internal/devtls"
	"tether/internal/web"
)

func init() {
	apps.Register("echoserver", func() apps.App { return &App{} })
}

// DefaultMaxMessage is the largest message echoed when the config sets none.
const DefaultMaxMessage = 1 << 20

// App is the echoserver application. The zero value is ready to Run.
type App struct{}

var _ apps.App = (*App)(nil)

// Run listens on the configured address and serves until ctx ends.
func (a *App) Run(ctx context.Context, env *apps.Env) error {
	cfg := config.EchoServer{}
	if env.Config != nil {
		cfg = env.Config.App.EchoServer
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsSrv, err := serverTLS(env.Config, log)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.ListenAddr, strconv.Itoa(cfg.ListenPort))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on echoserver.listen_addr:listen_port: %w", err)
	}
	scheme := "ws"
	if tlsSrv.On() {
		ln, scheme = devtls.NewListener(ln, tlsSrv.Config, devtls.ListenOptions{Logger: log}), "wss"
	}
	s := New(Options{MaxMessage: cfg.MaxMessage, Logger: env.Logger})
	log.Info("echo server listening", "addr", scheme+"://"+ln.Addr().String()+"/", "max_message", s.opts.MaxMessage)
	if env.Ready != nil {
		env.Ready(map[string]string{scheme: ln.Addr().String()})
	}
	return s.Serve(ctx, ln)
}

// serverTLS sets up the listener's TLS (package devtls): on when
// echoserver.tls says so or, without that section, when the device root
// holds certs/server.crt; with echoserver.tls enabled and no certificate, a
// self-signed one is made on first boot. Files that do not load are a
// failure no restart can fix (see package device's "don't restart"
// contract).
func serverTLS(cfg *config.Config, log *slog.Logger) (*devtls.Server, error) {
	opts := devtls.Options{Section: "echoserver.tls", Logger: log}
	if cfg != nil {
		opts.Root, opts.TLS = cfg.Root, cfg.App.EchoServer.TLS
		opts.Hosts = devtls.DefaultHosts(cfg.Network.Device.IAm, cfg.App.EchoServer.ListenAddr)
	}
	s, err := devtls.Setup(opts)
	if err != nil {
		return nil, apps.NoRestart(err)
	}
	return s, nil
}

// Options configure a Server. The zero value works.
type Options struct {
	// MaxMessage is the largest message echoed, in bytes; a larger one
	// closes the connection with 1009. Zero means DefaultMaxMessage.
	MaxMessage int64
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// Server is a WebSocket echo server.
type Server struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New returns a Server with opts applied.
func New(opts Options) *Server {
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: log.With("component", "echoserver"), conns: map[*conn]struct{}{}}
}

// shutdownGrace bounds the closing handshakes at shutdown.
const shutdownGrace = 3 * time.Second

// Serve accepts connections on ln until ctx ends, then closes every client
// with 1001, waits for their goroutines and returns nil. It returns an
// error only if the listener fails. ln is closed on return.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	err := web.RunHTTP(ctx, hs, func() {
		s.closeAll() // upgraded connections are hijacked: ours to close
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		hs.Shutdown(sctx)
	}, ln)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("serve echo: %w", err)
	}
	s.log.Info("echo server stopped")
	return nil
}

// Clients is the number of connected clients.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// closeAll marks the server closed and ends every client with 1001.
func (s *Server) closeAll() {
	s.mu.Lock()
	s.closed = true
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.goAway(&s.wg)
	}
}

// add registers c; false when the server is closing.
func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}
