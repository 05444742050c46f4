package devauth

import (
	"net/http"

	"tether/internal/login"
)

// passwordForm is the page to change the password, for someone logged in.
func (hd *handler) passwordForm(w http.ResponseWriter, r *http.Request) {
	if hd.mayChange(w, r, http.StatusOK) {
		hd.render(w, r, http.StatusOK, page{Kind: "password"})
	}
}

// changePassword is the password form's POST: for someone logged in (or
// a program with the bearer password) who also gives the old password,
// the new one (twice) replaces it. Every session ends; the browser that
// changed it gets a new one.
func (hd *handler) changePassword(w http.ResponseWriter, r *http.Request) {
	if !hd.mayChange(w, r, http.StatusConflict) || !readForm(w, r) {
		return
	}
	if _, err := hd.g.password(r, r.PostFormValue("old")); err != nil {
		hd.render(w, r, status(err), page{Kind: "password", Error: "old password: " + err.Error()})
		return
	}
	hd.replace(w, r, "password", "changed", "on the device's page")
}

// mayChange reports whether r may change the password: it is logged in
// (or gives the bearer password) and the password is checked at all.
// Otherwise it has answered: with the login form or a 401 (Check's
// refusal), or, when the check is off, with code and why.
func (hd *handler) mayChange(w http.ResponseWriter, r *http.Request, code int) bool {
	if hd.g.Off() {
		hd.render(w, r, code, page{Kind: "message", Error: ErrAuthOff.Error()})
		return false
	}
	if err := hd.g.Check(r); err != nil {
		hd.refuse(w, r, err)
		return false
	}
	return true
}

// resetForm is the page to set a new password without the old one, for
// someone Reset lets (on the device's own access point, in recovery).
func (hd *handler) resetForm(w http.ResponseWriter, r *http.Request) {
	if !hd.mayReset(w, r) {
		return
	}
	hd.render(w, r, http.StatusOK, page{Kind: "reset"})
}

// reset is the reset form's POST.
func (hd *handler) reset(w http.ResponseWriter, r *http.Request) {
	if !hd.mayReset(w, r) || !readForm(w, r) {
		return
	}
	hd.replace(w, r, "reset", "reset", "from the device's access point")
}

// mayReset answers 403 unless Reset lets r set a new password.
func (hd *handler) mayReset(w http.ResponseWriter, r *http.Request) bool {
	if hd.opts.Reset != nil && hd.opts.Reset(r) {
		return true
	}
	hd.render(w, r, http.StatusForbidden, page{Kind: "message",
		Error: "a reset without the password is offered only in recovery, to someone on the device's own access point (or: tether device passwd --root DIR on the device)"})
	return false
}

// replace sets the form's new password (given twice), ends every
// session and logs this browser in again.
func (hd *handler) replace(w http.ResponseWriter, r *http.Request, kind, verb, how string) {
	pw, again := r.PostFormValue("new"), r.PostFormValue("again")
	if err := login.CheckNew(pw); err != nil {
		hd.render(w, r, http.StatusUnprocessableEntity, page{Kind: kind, Error: "new password: " + err.Error()})
		return
	}
	if pw != again {
		hd.render(w, r, http.StatusUnprocessableEntity, page{Kind: kind, Error: "the new password and its repetition differ"})
		return
	}
	if err := hd.g.set(pw); err != nil {
		hd.g.log.Error("device password not changed", "err", err)
		hd.render(w, r, http.StatusInternalServerError, page{Kind: kind, Error: err.Error()})
		return
	}
	hd.g.log.Warn("device password "+verb+" "+how+": every session ended", "remote", r.RemoteAddr)
	gen, err := hd.g.generation()
	if err == nil {
		hd.startSession(w, r, gen)
	}
	hd.render(w, r, http.StatusOK, page{Kind: "message", Message: "Password " + verb + ". Other browsers and scripts need the new one."})
}
