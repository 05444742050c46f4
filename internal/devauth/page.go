package devauth

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// page is what one of the guard's pages is rendered from.
type page struct {
	Kind     string // "login", "password", "reset" or "message"
	Device   string
	Recovery bool
	Next     string // login: where to go after
	Error    string
	Message  string
	CanReset bool // login: offer the reset (recovery, on the access point)
	Prefix   string
}

// render writes p as an HTML page with status code.
func (hd *handler) render(w http.ResponseWriter, r *http.Request, code int, p page) {
	p.Device, p.Recovery, p.Prefix = hd.opts.Device, hd.opts.Recovery, Prefix
	p.CanReset = p.Kind == "login" && hd.opts.Reset != nil && hd.opts.Reset(r)
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		hd.g.log.Error("render page", "err", err)
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
