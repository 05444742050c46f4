package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"time"

	"tether/internal/web/assets"
)

// asset is one embedded file, prepared once: its body, its gzip form (nil
// when not worth it) and their ETags.
type asset struct {
	ctype  string
	body   []byte
	gz     []byte
	etag   string // of body
	gzEtag string // of gz
}

// embeddedRoutes is the route table of the embedded page.
var embeddedRoutes = map[string]string{
	"/":            "index.html",
	"/index.html":  "index.html",
	"/app.js":      "app.js",
	"/style.css":   "style.css",
	"/favicon.ico": "favicon.ico",
}

// wsPortMarker is replaced in index.html by the command API's port.
const wsPortMarker = `name="tether-ws-port" content=""`

// embeddedAssets prepares the embedded files, with wsPort written into the
// page (0 leaves it empty: the page's own port).
func embeddedAssets(wsPort int) map[string]*asset {
	prepared := map[string]*asset{}
	out := map[string]*asset{}
	for route, name := range embeddedRoutes {
		a, ok := prepared[name]
		if !ok {
			body, err := assets.FS.ReadFile(name)
			if err != nil {
				panic("web: embedded asset " + name + " missing: " + err.Error())
			}
			if name == "index.html" && wsPort > 0 {
				body = bytes.Replace(body, []byte(wsPortMarker),
					[]byte(`name="tether-ws-port" content="`+strconv.Itoa(wsPort)+`"`), 1)
			}
			a = prepare(name, body)
			prepared[name] = a
		}
		out[route] = a
	}
	return out
}

func prepare(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:8])
	a := &asset{ctype: contentType(name), body: body, etag: `"` + tag + `"`}
	if compressible(a.ctype) {
		var b bytes.Buffer
		zw := getGzip(&b)
		zw.Write(body)
		zw.Close()
		putGzip(zw)
		if b.Len() < len(body) {
			a.gz, a.gzEtag = b.Bytes(), `"`+tag+`-gz"`
		}
	}
	return a
}

// serveAsset serves an embedded file by its route.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !allowMethod(w, r) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = a.gz, a.gzEtag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, path.Base(r.URL.Path), time.Time{}, bytes.NewReader(body))
}

// allowMethod answers 405 to anything but GET and HEAD.
func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method "+r.Method+" not allowed: want GET or HEAD", http.StatusMethodNotAllowed)
	return false
}
