// Package web is the device's HTTP server: an explicit route table of files
// (the embedded page by default, or app.json's demo.routes under the device
// root), never a directory walk, and the WebSocket command API on any path
// of a request that asks to upgrade.
//
// Files are served by http.ServeContent from an fs.FS (the embedded page,
// or the device root through os.Root): Content-Type by extension, ranges,
// and validators (ETag, Last-Modified) for 304s; route files are opened per
// request and streamed, never read whole. Anything not in the table is 404,
// traversals included; a method other than GET or HEAD on a route is 405.
// The server has header, read and idle timeouts and a header size limit,
// so slow or huge requests cannot hold it.
//
// Options.Wrap puts a check before every request (the device password:
// package devauth); the server itself authenticates no one.
//
// Serve may run on several listeners at once (the page port and the command
// API port); every listener serves both the page and the API. When ctx ends
// it stops accepting, closes WebSocket clients with 1001, and drops any
// connection still open after a grace period, so it returns within a bound.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/localpeer"
	"tether/internal/wsframe"
)

// Options configure a Server. The zero value serves the embedded page and
// refuses WebSocket upgrades.
type Options struct {
	// Root is the device root that Routes' files are relative to.
	Root string
	// Routes maps URL paths to files under Root (app.json demo.routes).
	// Nil or empty means the embedded assets.
	Routes map[string]string
	// API serves WebSocket clients, with keepalive pings every
	// wsconn.DefaultPingInterval; nil answers upgrades with 404. Serve
	// shuts it down (cmdapi.Server.Shutdown) when its context ends.
	API *cmdapi.Server
	// MaxMessage is the command API's message limit in bytes; a larger
	// message closes the connection with 1009. Zero means 64 KiB.
	MaxMessage int64
	// Origins are host patterns ("example.com", "*.example.com:8443") of
	// other browser origins allowed on the command API. A page from the
	// same host (any port) is always allowed when that host is an address
	// or a local name (see LocalName), or the page is https; other names
	// could be a DNS-rebinding page's. Requests without an Origin
	// (programs) are allowed too.
	Origins []string
	// WSPort is the command API's port, written into the embedded page so
	// it connects there; zero means the page's own port.
	WSPort int
	// ShutdownGrace bounds the graceful part of shutdown, after which open
	// connections are dropped; zero means 3 s.
	ShutdownGrace time.Duration
	// Logger receives request problems and connection events; nil
	// discards them.
	Logger *slog.Logger
	// Wrap, when not nil, wraps the handler of every request, page and
	// WebSocket upgrade alike: the device password's check (package
	// devauth). Nil serves everyone.
	Wrap func(http.Handler) http.Handler
}

// DefaultMaxMessage is the command API's message limit when Options sets none.
const DefaultMaxMessage = 64 << 10

// Server is the device's HTTP and WebSocket server.
type Server struct {
	opts    Options
	log     *slog.Logger
	routes  map[string]string // URL path → file name, in page or the root
	page    *pageFS           // the embedded page; nil when Routes is used
	handler http.Handler      // serve, wrapped by Options.Wrap
	ctx     context.Context   // handed to WebSocket clients; ends at shutdown
	cancel  context.CancelFunc
}

// New returns a Server with opts applied. Problems with Routes (a file that
// is missing or outside the root) are logged; those routes answer 404.
func New(opts Options) *Server {
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 3 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: opts, log: log.With("component", "web"), ctx: ctx, cancel: cancel}
	if len(opts.Routes) == 0 {
		s.routes, s.page = embeddedRoutes, newPageFS(opts.WSPort)
	} else {
		s.routes = opts.Routes
		s.checkRoutes()
	}
	s.handler = http.HandlerFunc(s.serve)
	if opts.Wrap != nil {
		s.handler = opts.Wrap(s.handler)
	}
	return s
}

// ServeHTTP serves one request through Options.Wrap: an upgrade goes to
// the command API, anything else to the route table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// serve serves one request that Options.Wrap let through.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if wsframe.IsUpgrade(r) {
		s.serveWebSocket(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.serveFile(w, r)
}

// Serve serves on every listener until ctx ends, then shuts down within
// about ShutdownGrace and returns nil; it returns an error if a listener
// fails. The listeners are closed on return. Serve is called once per
// Server; ServeHTTP alone may be used with another http.Server.
func (s *Server) Serve(ctx context.Context, lns ...net.Listener) error {
	hs := s.httpServer()
	for _, ln := range lns {
		s.log.Debug("serving", "addr", ln.Addr().String()) // the app logs its URLs
	}
	if err := RunHTTP(ctx, hs, func() { s.shutdown(hs) }, lns...); err != nil {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// RunHTTP serves hs on every listener until ctx ends or one fails, then
// calls stop, which must shut hs down (and end what it hijacked, such as
// WebSocket clients) within a bound of its own, and waits for every
// listener's Serve to return. It returns a listener's failure, nil once
// ctx ended. The device's servers (web, echoserver, recovery) run this way.
func RunHTTP(ctx context.Context, hs *http.Server, stop func(), lns ...net.Listener) error {
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- hs.Serve(ln) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	for range len(lns) - boolInt(err != nil) {
		<-errc // every Serve goroutine has returned
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      0, // large files stream; WebSocket writes have their own timeouts
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ConnContext:       localpeer.ConnContext, // who a loopback client is, looked up once per connection
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// shutdown stops accepting, waits for plain requests, and shuts the
// command API down (its clients flush, then close with 1001), all within
// the grace period; what is left then is dropped.
func (s *Server) shutdown(hs *http.Server) {
	s.cancel() // no new WebSocket clients; BaseContext ends
	gctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownGrace)
	defer cancel()
	hs.Shutdown(gctx) // closes the listeners; waits for plain requests
	if s.opts.API != nil && s.opts.API.Shutdown(gctx) != nil {
		s.log.Warn("dropping connections still open after the shutdown grace period", "grace", s.opts.ShutdownGrace)
		s.opts.API.Close()
	}
	s.log.Info("stopped")
}
