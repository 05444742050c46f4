package hub

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"tether/internal/apps/recovery/page"
	"tether/internal/hub/access"
	"tether/internal/web/assets"
)

// devicePage serves /d/<id>/: the page of a device this hub knows, driven
// through the hub's page endpoint for <id>. A device in recovery gets the
// recovery page (package apps/recovery/page, the one it serves itself),
// any other the device's own page (package web/assets) with a link back to
// the dashboard. A device the hub has never seen (or forgot), or that the
// request may not view, is a 404.
func (h *Hub) devicePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidID(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.known(id) || h.verbOn(requestPrincipal(r), id) < access.View {
		notFoundPage(w, id)
		return
	}
	name := r.PathValue("file")
	if name == "" || name == "index.html" {
		if s := summarize(h.broker.Shadow(id)); s.Recovery {
			h.recoveryPage(w, id, s)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(deviceIndex())
		return
	}
	if fi, err := fs.Stat(assets.FS, name); err != nil || fi.IsDir() || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, assets.FS, name)
}

// known reports whether the hub holds a record of id or its broker knows
// it online.
func (h *Hub) known(id string) bool {
	if h.record(id) != nil {
		return true
	}
	_, online := h.broker.Lookup(id)
	return online
}

// hubNav is the link back to the dashboard put at the top of a device's
// page served by the hub; styled inline so the page's own style sheet
// needs to know nothing of it.
const hubNav = `<nav class="hub-nav" style="padding:.35rem 1rem;background:#1d2430;font:14px/1.4 system-ui,sans-serif">` +
	`<a href="/" style="color:#fff">← All devices</a></nav>`

// deviceIndex is the device page's index.html with hubNav right after
// its <body ...> tag.
var deviceIndex = sync.OnceValue(func() []byte {
	b, err := fs.ReadFile(assets.FS, "index.html")
	if err != nil {
		panic("hub: device page index.html missing from web/assets: " + err.Error())
	}
	return withNav(b)
})

// withNav puts hubNav after the <body> tag of page, or at its start when
// it has none.
func withNav(page []byte) []byte {
	i := bytes.Index(page, []byte("<body"))
	if j := bytes.IndexByte(page[max(i, 0):], '>'); i >= 0 && j >= 0 {
		i += j + 1
	} else {
		i = 0
	}
	return bytes.Join([][]byte{page[:i], []byte(hubNav), page[i:]}, nil)
}

// recoveryPage renders the recovery page for a device in recovery with
// what its shadow says; the page asks the device for its files and log.
func (h *Hub) recoveryPage(w http.ResponseWriter, id string, s summary) {
	d := page.Data{Device: id, Reason: s.RecoveryReason, Hub: true,
		Network: page.Network{Mode: s.NetMode, AP: s.AP}}
	for _, name := range page.Names {
		d.Files = append(d.Files, page.File{Name: name})
	}
	b, err := page.Render(d)
	if err != nil {
		h.log.Error("render recovery page", "device", id, "err", err)
		http.Error(w, "render recovery page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page.SetHeaders(w.Header())
	w.Write(b)
}

// recoveryStatic serves the recovery page's script and style sheet under
// /d/<id>/static/.
func (h *Hub) recoveryStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if fi, err := fs.Stat(page.Static, name); err != nil || fi.IsDir() || strings.HasSuffix(name, ".html") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, page.Static, name)
}

var notFoundTmpl = template.Must(template.New("404").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>No device {{.}} · tether hub</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"></head>
<body><header><h1>tether hub</h1></header>
<main><h2>No device {{.}}</h2>
<p>No device with the id <code>{{.}}</code> has connected to this hub (or the hub forgot it).
A device appears here once it calls home to the hub's device port at <code>/{{.}}</code>.</p>
<p><a href="/">← All devices</a></p></main></body></html>
`))

// notFoundPage answers 404 with a page saying no device id is known.
func notFoundPage(w http.ResponseWriter, id string) {
	var b bytes.Buffer
	if err := notFoundTmpl.Execute(&b, id); err != nil {
		http.Error(w, fmt.Sprintf("no device %s", id), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	w.Write(b.Bytes())
}
