package demo_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/hub"
	"tether/internal/tethertest"
	"tether/internal/web"
)

// The same page, unchanged, served under /d/Device_1/ beside a real hub's
// page endpoint: it finds the command API at the hub's /Device_1, and the
// whole browser flow runs through the hub to the device calling home.
func TestPageThroughHub(t *testing.T) {
	t.Parallel()
	devLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Options{Name: "test-hub", Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Serve(ctx, devLn, pageLn) }()
	t.Cleanup(func() { cancel(); <-hubDone })

	p := tethertest.FreePort(t)
	start(t, seedApp(p, p, devLn.Addr().(*net.TCPAddr).Port, ""))
	deadline := time.Now().Add(15 * time.Second)
	for !online(h, "Device_1") {
		if time.Now().After(deadline) {
			t.Fatal("the device did not call the hub within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The front: the page's files under /d/Device_1/, the hub for the rest.
	pageURL, _ := url.Parse("http://" + pageLn.Addr().String())
	proxy := httputil.NewSingleHostReverseProxy(pageURL)
	assets := http.StripPrefix("/d/Device_1", web.New(web.Options{}))
	front := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" && strings.HasPrefix(r.URL.Path, "/d/Device_1/") {
			assets.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	shot := filepath.Join(t.TempDir(), "through-hub.png")
	out := tethertest.Browser(t, "page.mjs", "http://"+front+"/d/Device_1/", shot, "Device_1")
	if !strings.Contains(out, "browser flow ok") {
		t.Fatalf("browser said:\n%s", out)
	}
}

func online(h *hub.Hub, id string) bool {
	for _, d := range h.Devices() {
		if d.ID == id && d.Online {
			return true
		}
	}
	return false
}

// serveHTTP serves handler on 127.0.0.1:0 until the test ends.
func serveHTTP(t *testing.T, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
