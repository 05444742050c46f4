package devauth

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"tether/internal/config"
	"tether/internal/login"
)

// Prefix is where the guard serves its own pages, on every port it
// guards: login, logout, password and reset. An app's routes under it are
// not reachable (config check warns of them).
const Prefix = config.ReservedPrefix

// maxForm bounds a form the guard reads.
const maxForm = 4096

// HandlerOptions say how a guarded handler is served.
type HandlerOptions struct {
	// Device is the device id its pages show; "" shows none.
	Device string
	// Recovery says the device is in recovery, on its pages.
	Recovery bool
	// TLS says the handler is served over TLS: the session cookie is then
	// Secure.
	TLS bool
	// Reset, when not nil, reports whether r may set a new password
	// without knowing the old one: recovery says so for someone on the
	// device's own access point (physical access wins). Nil offers no
	// reset.
	Reset func(r *http.Request) bool
}

// handler serves one guarded app's requests.
type handler struct {
	g    *Guard
	next http.Handler
	opts HandlerOptions
	own  http.Handler // the pages under Prefix
}

// Handler returns h guarded: the guard's pages under Prefix, and every
// other request passed to h only when Check accepts it, else refused with
// 401 (429 when throttled): a browser loading a page gets the login form
// (which comes back to the same address), anything else a line saying
// what to send. A WebSocket upgrade is a request like any other: the
// browser sends the cookie with it. A nil Guard returns h.
func (g *Guard) Handler(h http.Handler, opts HandlerOptions) http.Handler {
	if g == nil {
		return h
	}
	hd := &handler{g: g, next: h, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"login", hd.loginForm)
	mux.HandleFunc("POST "+Prefix+"login", hd.login)
	mux.HandleFunc("POST "+Prefix+"logout", hd.logout)
	mux.HandleFunc("GET "+Prefix+"password", hd.passwordForm)
	mux.HandleFunc("POST "+Prefix+"password", hd.changePassword)
	mux.HandleFunc("GET "+Prefix+"reset", hd.resetForm)
	mux.HandleFunc("POST "+Prefix+"reset", hd.reset)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused: use the device's own page", http.StatusForbidden)
	}))
	hd.own = cop.Handler(mux)
	return hd
}

func (hd *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, Prefix) {
		hd.own.ServeHTTP(w, r)
		return
	}
	gen, err := hd.g.checkGen(r)
	if err != nil {
		hd.refuse(w, r, err)
		return
	}
	if gen != 0 && r.Header.Get("Upgrade") != "" { // a WebSocket lasts: it ends when the password changes
		var stop func()
		r, stop = hd.g.whileProven(r, gen)
		defer stop()
	}
	hd.next.ServeHTTP(w, r)
}

// refuse answers a request Check refused: 401 (429 when throttled), the
// login form for a browser loading a page, else the reason as text.
func (hd *handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	hd.g.log.Debug("refused request", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err) // per request
	code := status(err)
	w.Header().Set("WWW-Authenticate", `Bearer realm="tether device"`)
	if code == http.StatusTooManyRequests {
		hd.retryAfter(w)
	}
	if wantsPage(r) {
		msg := ""
		if err != ErrNoCredentials {
			msg = err.Error()
		}
		hd.render(w, r, code, page{Kind: "login", Next: r.URL.RequestURI(), Error: msg})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, err.Error(), code)
}

// retryAfter says when a throttled address may try again.
func (hd *handler) retryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(hd.g.throttle.Every().Seconds()))))
}

// status is the HTTP status a refusal is answered with.
func status(err error) int {
	if err == ErrThrottled {
		return http.StatusTooManyRequests
	}
	return http.StatusUnauthorized
}

// wantsPage reports whether r is a browser loading a page (not a script,
// a WebSocket upgrade or a fetch of data).
func wantsPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Upgrade") == "" &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// readForm parses r's form, bounded; false when it has answered.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "read form: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// startSession logs r's browser in: a new session of password generation
// gen, in a cookie.
func (hd *handler) startSession(w http.ResponseWriter, r *http.Request, gen uint64) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: hd.g.sessions.Create(gen, time.Now()), Path: "/",
		HttpOnly: true, Secure: hd.opts.TLS || r.TLS != nil, SameSite: http.SameSiteStrictMode,
		MaxAge: int(SessionTTL.Seconds()),
	})
}

func (hd *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := login.SafeNext(r.URL.Query().Get("next"))
	if hd.g.Off() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	hd.render(w, r, http.StatusOK, page{Kind: "login", Next: next})
}

// login is the login form's POST: the right password sets a session
// cookie and goes on to next (a path on this device, else /); a wrong one
// shows the form again. Wrong passwords are throttled per address.
func (hd *handler) login(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	next := login.SafeNext(r.PostFormValue("next"))
	if hd.g.Off() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	gen, err := hd.g.password(r, r.PostFormValue("password"))
	if err != nil {
		if status(err) == http.StatusTooManyRequests {
			hd.retryAfter(w)
		}
		hd.render(w, r, status(err), page{Kind: "login", Next: next, Error: err.Error()})
		return
	}
	hd.startSession(w, r, gen)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session of r's cookie, on the device as well as in the
// browser.
func (hd *handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		hd.g.sessions.Revoke(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: hd.opts.TLS || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
