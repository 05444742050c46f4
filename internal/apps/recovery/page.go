package recovery

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed page
var pageFS embed.FS

// staticFS holds the page's stylesheet and script.
var staticFS, _ = fs.Sub(pageFS, "page")

var pageTmpl = template.Must(template.ParseFS(pageFS, "page/index.html"))

// page renders the recovery page; html/template escapes every value.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, s.status()); err != nil {
		s.log.Error("render recovery page", "err", err)
		writeError(w, http.StatusInternalServerError, "render recovery page: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b.Bytes())
}
