package hub

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"time"

	"tether/internal/login"
)

// login is the dashboard's login form: a user and password, or a page
// token; right ones set a session cookie and go on to next (a path on this
// hub, else /), wrong ones go back to the form. Wrong tries are throttled
// per address.
func (h *Hub) login(w http.ResponseWriter, r *http.Request) {
	if err := h.checkOrigin(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "read login form: "+err.Error(), http.StatusBadRequest)
		return
	}
	next := login.SafeNext(r.PostFormValue("next"))
	if h.auth() == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p, err := h.checkLogin(r)
	if err != nil {
		h.metrics.authFailures.WithLabelValues("login", failureReason(err)).Inc()
		h.warnings.Warn("dashboard login refused", "remote", r.RemoteAddr, "err", err)
		failed := "1"
		if errors.Is(err, errThrottled) {
			failed = "wait"
		}
		http.Redirect(w, r, "/login?failed="+failed+"&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	h.log.Info("dashboard login", "who", p.name, "remote", r.RemoteAddr)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: h.sessions.Create(p.ref, time.Now()), Path: "/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// checkLogin checks the login form's user and password, or its token.
func (h *Hub) checkLogin(r *http.Request) (*principal, error) {
	name := r.PostFormValue("user")
	if name == "" {
		return h.checkPageToken(r, r.PostFormValue("token"))
	}
	addr := login.ClientAddr(r.RemoteAddr)
	if !h.throttle.Allow(addr, time.Now()) {
		return nil, errThrottled
	}
	c := h.auth()
	hash := dummyHash
	u, known := c.file.Users[name]
	if known {
		hash = u.Password
	}
	if !login.CheckPassword(hash, r.PostFormValue("password")) || !known {
		h.throttle.Fail(addr, time.Now())
		return nil, errBadCredentials
	}
	if p := c.resolve(credRef{user: name, sum: sha256.Sum256([]byte(hash))}); p != nil {
		return p, nil
	}
	return nil, errBadCredentials // the file changed meanwhile
}

// logout ends the session of the request's cookie, on the hub as well as
// in the browser: the same cookie no longer works.
func (h *Hub) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.Revoke(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
