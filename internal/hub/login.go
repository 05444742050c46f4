package hub

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"tether/internal/login"
)

// login is the dashboard's login form: a right page token sets a session
// cookie and goes on to next (a path on this hub, else /); a wrong one goes
// back to the form. Wrong tokens are throttled per address.
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
	if h.opts.Auth == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if err := h.checkPageToken(r, r.PostFormValue("token")); err != nil {
		h.metrics.authFailures.WithLabelValues("login", failureReason(err)).Inc()
		h.warnings.Warn("dashboard login refused", "remote", r.RemoteAddr, "err", err)
		failed := "1"
		if errors.Is(err, errThrottled) {
			failed = "wait"
		}
		http.Redirect(w, r, "/login?failed="+failed+"&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: h.sessions.Create(struct{}{}, time.Now()), Path: "/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	http.Redirect(w, r, next, http.StatusSeeOther)
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
