// Package natstest runs NATS servers in the test process for tests of the
// NATS broker and of hubs clustered over NATS: the real nats-server,
// embedded, on 127.0.0.1, one alone or several joined by routes. Only
// tests import it, so the tether binary does not carry a NATS server.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server that can be stopped and started again
// on the same ports.
type Server struct {
	t           testing.TB
	port        int // client port, fixed after the first start
	clusterPort int // route port, 0 when not in a cluster
	routes      []*url.URL
	tweak       func(*server.Options)
	scheme      string // "nats", or "tls" when tweak sets TLS
	srv         *server.Server
}

// Start runs a NATS server on a random 127.0.0.1 port; it is shut down
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with the server's options changed by tweak (TLS,
// users, limits) before each start.
func StartWith(t testing.TB, tweak func(*server.Options)) *Server {
	t.Helper()
	s := &Server{t: t, port: -1, tweak: tweak}
	s.Restart()
	t.Cleanup(s.Shutdown)
	return s
}

// Cluster runs n NATS servers joined by routes, each on random ports;
// they are shut down when the test ends.
func Cluster(t testing.TB, n int) []*Server {
	t.Helper()
	out := make([]*Server, n)
	for i := range out {
		out[i] = &Server{t: t, port: -1, clusterPort: -1}
		if i > 0 {
			out[i].routes = []*url.URL{out[0].RouteURL()}
		}
		out[i].Restart()
		t.Cleanup(out[i].Shutdown)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range out {
		for s.srv.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("NATS cluster: server %s has %d routes after 10 s, want %d", s.URL(), s.srv.NumRoutes(), n-1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

// Restart starts the server again (or the first time) on its ports.
func (s *Server) Restart() {
	s.t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: s.port, NoLog: true, NoSigs: true}
	if s.clusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: "tether-test", Host: "127.0.0.1", Port: s.clusterPort}
		opts.Routes = s.routes
	}
	if s.tweak != nil {
		s.tweak(opts)
	}
	s.scheme = "nats"
	if opts.TLSConfig != nil {
		s.scheme = "tls"
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		s.t.Fatalf("start NATS server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatalf("start NATS server: not ready after 10 s")
	}
	s.srv = srv
	s.port = srv.Addr().(*net.TCPAddr).Port
	if s.clusterPort != 0 {
		s.clusterPort = srv.ClusterAddr().Port
	}
}

// Shutdown stops the server and waits for it; the clients see the
// connection drop. It may be called more than once.
func (s *Server) Shutdown() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// URL is the server's client URL, nats://127.0.0.1:PORT (tls:// with TLS).
func (s *Server) URL() string { return fmt.Sprintf("%s://127.0.0.1:%d", s.scheme, s.port) }

// RouteURL is the server's route URL, for other servers of its cluster.
func (s *Server) RouteURL() *url.URL {
	return &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", s.clusterPort)}
}

// Server is the running nats-server, nil after Shutdown.
func (s *Server) Server() *server.Server { return s.srv }
