package recovery

import (
	"net/http"

	"tether/internal/apps/recovery/page"
	"tether/internal/httpjson"
)

// staticFS holds the page's stylesheet and script.
var staticFS = page.Static

// page renders the recovery page; html/template escapes every value.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	b, err := page.Render(s.status(false).page())
	if err != nil {
		s.log.Error("render recovery page", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "render recovery page: "+err.Error())
		return
	}
	page.SetHeaders(w.Header())
	w.Write(b)
}
