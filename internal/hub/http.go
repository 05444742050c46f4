package hub

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"tether/internal/httpjson"
	"tether/internal/hub/access"
	"tether/internal/hub/dashboard"
	"tether/internal/hub/rollout"
	"tether/internal/wsframe"
)

// wrapTLS serves TLS on ln when the hub has a TLS config; the device port
// also asks for client certificates when the hub has a client CA.
func (h *Hub) wrapTLS(ln net.Listener, devicePort bool) net.Listener {
	if h.opts.TLS == nil {
		return ln
	}
	cfg := h.opts.TLS.Clone()
	cfg.NextProtos = []string{"http/1.1"} // WebSocket upgrades need HTTP/1.1
	if devicePort && h.opts.ClientCAs != nil {
		cfg.ClientCAs = h.opts.ClientCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if devicePort && h.opts.EnrollCA != nil {
		// Enrolling devices have no certificate yet: one is checked when
		// given, and required (--client-ca) by authDevice instead.
		pool := x509.NewCertPool()
		if h.opts.ClientCAs != nil {
			pool = h.opts.ClientCAs.Clone()
		}
		pool.AddCert(h.opts.EnrollCA.Cert)
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tls.NewListener(ln, cfg)
}

// pageHandler serves the page port: WebSocket upgrades on /<device-id>, and
// the dashboard, the API and the metrics on the other paths.
func (h *Hub) pageHandler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(dashboard.FS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", h.authed(h.serveAsset("index.html")))
	mux.HandleFunc("GET /login", h.serveAsset("login.html"))
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("GET /d/{id}/{file...}", h.authed(h.devicePage))
	mux.HandleFunc("GET /d/{id}/static/{file}", h.authed(h.recoveryStatic))
	mux.HandleFunc("GET /d/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/d/"+url.PathEscape(r.PathValue("id"))+"/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /api/hub", h.authed(h.apiHub))
	mux.HandleFunc("GET /api/devices", h.authed(h.apiDevices))
	mux.HandleFunc("GET /api/devices/{id}", h.authed(h.apiDevice))
	mux.HandleFunc("DELETE /api/devices/{id}", h.authed(h.apiForget))
	mux.HandleFunc("POST /api/enroll", h.authed(h.operatorOnly(h.apiEnroll)))
	mux.HandleFunc("GET /enroll", h.authed(h.serveAsset("enroll.html")))
	mux.Handle("GET /metrics", h.authed(h.operatorOnly(h.metrics.handler().ServeHTTP)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h.rolloutRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsframe.IsUpgrade(r) {
			h.servePage(w, r)
			return
		}
		if r.URL.Path != rollout.UploadPath || r.Method != http.MethodPost { // an upload has its own bound
			r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		}
		mux.ServeHTTP(w, r)
	})
}

// authed lets a request through when the hub is open or it carries a page
// credential (its principal in the request's context); a browser asking
// for a page is sent to the login form.
func (h *Hub) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authPage(r)
		if err == nil {
			next(w, withPrincipal(r, p))
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "text/html") && errors.Is(err, errNoCredentials) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		h.metrics.authFailures.WithLabelValues("http", failureReason(err)).Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether hub"`)
		code, msg := refusal(err)
		httpjson.Error(w, code, msg)
	}
}

// operatorOnly lets through the requests of an operator (every verb on
// every device); others get 403.
func (h *Hub) operatorOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !requestPrincipal(r).operator() {
			h.metrics.authFailures.WithLabelValues("http", "no_grant").Inc()
			httpjson.Error(w, http.StatusForbidden, "forbidden: "+r.URL.Path+" is for the hub's operators (admin on every device)")
			return
		}
		next(w, r)
	}
}

func (h *Hub) serveAsset(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, dashboard.FS, name)
	}
}

// checkOrigin lets through requests without an Origin (programs), from
// the page port's own origin, or from an origin matching OriginPatterns.
func (h *Hub) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad Origin %q", origin)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, pat := range h.opts.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(pat), strings.ToLower(u.Host)); ok {
			return nil
		}
	}
	return fmt.Errorf("origin %q not allowed (allow it with --origin %s)", origin, u.Host)
}

// HubInfo is /api/hub.
type HubInfo struct {
	Name string `json:"name"`
	Open bool   `json:"open"`
	TLS  bool   `json:"tls"`
	// User is who the request speaks for ("anyone" on an open hub) and
	// Operator whether they may do everything to every device (read
	// /metrics, make enrollment codes).
	User     string `json:"user"`
	Operator bool   `json:"operator"`
	// Enroll says enrollment is on (operators may make codes at /enroll).
	Enroll bool `json:"enroll"`
	// DevicePort is the port devices call home to (0 before Serve).
	DevicePort int       `json:"device_port"`
	Started    time.Time `json:"started"`
	Devices    int       `json:"devices_online"`
	Pages      int       `json:"pages"`
	// Panics counts the panics recovered in the code serving connections
	// (each closed its connection); anything but 0 is a bug to report.
	Panics uint64 `json:"panics_recovered"`
	// Updates is true when the hub keeps updates (--update-dir): the
	// rollout API and /rollouts are served.
	Updates bool `json:"updates"`
}

// apiHub is /api/hub. Counts of devices and pages are of the devices the
// request may see.
func (h *Hub) apiHub(w http.ResponseWriter, r *http.Request) {
	p := requestPrincipal(r)
	info := HubInfo{Name: h.opts.Name, Open: h.auth() == nil, TLS: h.opts.TLS != nil, DevicePort: int(h.devPort.Load()),
		Started: h.started, Panics: h.panics.Load(), User: p.name, Operator: p.operator(), Enroll: h.opts.EnrollCA != nil,
		Updates: h.rollouts != nil}
	if p.operator() {
		h.mu.RLock()
		for _, ps := range h.pages {
			info.Pages += len(ps)
		}
		h.mu.RUnlock()
		info.Devices = len(h.broker.Devices())
	} else {
		for _, d := range h.visibleDevices(p) {
			if d.Online {
				info.Devices++
				info.Pages += d.Pages
			}
		}
	}
	httpjson.Write(w, http.StatusOK, info)
}

// Devices lists every device this hub has seen or its broker knows, sorted
// by id, with what its state says (for devices held here).
func (h *Hub) Devices() []DeviceInfo {
	now := time.Now()
	h.mu.RLock()
	out := make([]DeviceInfo, 0, len(h.records))
	seen := make(map[string]int, len(h.records))
	for id, rec := range h.records {
		di := rec.info(id, h.opts.Name)
		di.Pages = len(h.pages[id])
		if p := h.devices[id]; p != nil && di.Online {
			t := time.Unix(0, p.lastSeen.Load())
			di.LastSeen = &t
		}
		di.setState(rec.shadowJSON(), now)
		seen[id] = len(out)
		out = append(out, di)
	}
	h.mu.RUnlock()
	for _, p := range h.broker.Devices() {
		i, ok := seen[p.Device]
		switch {
		case !ok:
			out = append(out, DeviceInfo{ID: p.Device, Online: true, Since: p.Since, Hub: p.Hub, Pages: len(h.pagesOf(p.Device)), PageIdentity: p.Pages})
		case !out[i].Online && p.Hub != h.opts.Name: // went from here to another hub
			out[i].Online, out[i].Since, out[i].Hub, out[i].Reason, out[i].Remote = true, p.Since, p.Hub, "", ""
			out[i].PageIdentity = p.Pages
			out[i].LastSeen = nil
		}
	}
	c := h.auth()
	for i := range out {
		out[i].addLabels(c.deviceLabels(out[i].ID))
	}
	sortDevices(out)
	return out
}

// addLabels adds the auth file's labels of the device to those it reports.
func (di *DeviceInfo) addLabels(file []string) {
	if len(file) > 0 {
		di.Labels = slices.Compact(slices.Sorted(slices.Values(slices.Concat(file, di.Labels))))
	}
}

// setState fills in what the device's shadow says.
func (di *DeviceInfo) setState(shadow []byte, now time.Time) {
	s := summarize(shadow)
	di.App, di.Version, di.Recovery, di.RecoveryReason, di.Sys = s.App, s.Version, s.Recovery, s.RecoveryReason, s.Sys
	di.Labels, di.Update = s.Labels, s.Update
	if di.ShadowUpdated != nil {
		age := now.Sub(*di.ShadowUpdated).Round(time.Millisecond).Seconds()
		di.ShadowAge = &age
	}
}

func (h *Hub) apiDevices(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, h.visibleDevices(requestPrincipal(r)))
}

// visibleDevices is Devices as p may see them: those p has a grant on.
func (h *Hub) visibleDevices(p *principal) []DeviceInfo {
	all := h.Devices()
	if p == anyone {
		return all
	}
	out := all[:0]
	for _, d := range all {
		if p.grants.On(d.ID, d.Labels) >= access.View {
			out = append(out, d)
		}
	}
	return out
}

// apiDevice is /api/devices/<id>: a device the request may not see is as
// unknown as one the hub has never seen.
func (h *Hub) apiDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidID(id); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, d := range h.visibleDevices(requestPrincipal(r)) {
		if d.ID == id {
			d.Shadow = h.broker.Shadow(id)
			d.setState(d.Shadow, time.Now())
			d.addLabels(h.auth().deviceLabels(id))
			httpjson.Write(w, http.StatusOK, d)
			return
		}
	}
	httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("device %s: not known to this hub", id))
}

func sortDevices(ds []DeviceInfo) {
	slices.SortFunc(ds, func(a, b DeviceInfo) int { return naturalCompare(a.ID, b.ID) })
}
