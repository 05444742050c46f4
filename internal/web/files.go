package web

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"time"

	"tether/internal/web/assets"
)

// embeddedRoutes is the route table of the embedded page.
var embeddedRoutes = map[string]string{
	"/":             "index.html",
	"/index.html":   "index.html",
	"/app.js":       "app.js",
	"/ops.js":       "ops.js",
	"/appitems.js":  "appitems.js",
	"/style.css":    "style.css",
	"/appitems.css": "appitems.css",
	"/favicon.ico":  "favicon.ico",
}

// wsPortMarker is replaced in index.html by the command API's port.
const wsPortMarker = `name="tether-ws-port" content=""`

// openFiles returns the file system the route table's names are in, and
// the function that lets it go: the embedded page, or the device root
// (os.Root: names and symlinks leading out of it are refused). The root is
// opened per request, so a file edited or added shows at once.
func (s *Server) openFiles() (fs.FS, func(), error) {
	if s.page != nil {
		return s.page, func() {}, nil
	}
	if s.opts.Root == "" {
		return nil, nil, fmt.Errorf("open route files: no device root")
	}
	root, err := os.OpenRoot(s.opts.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("open route files: %w", err)
	}
	return root.FS(), func() { root.Close() }, nil
}

// openFile opens name in fsys, refusing anything but a regular file.
func openFile(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	name = path.Clean(name)
	if !fs.ValidPath(name) {
		return nil, nil, fmt.Errorf("open route file %q: want a path inside the device root", name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open route file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open route file %q: want a regular file, got %v", name, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checkRoutes logs every route whose file cannot be served: missing, a
// folder, or outside the root (a path or a symlink leading out of it).
func (s *Server) checkRoutes() {
	for route, name := range s.routes {
		if err := s.withFile(name, func(fs.File, fs.FileInfo) {}); err != nil {
			s.log.Warn("route will answer 404", "route", route, "file", name, "err", err)
		}
	}
}

// withFile calls use with the file name from the route table's files.
func (s *Server) withFile(name string, use func(fs.File, fs.FileInfo)) error {
	fsys, done, err := s.openFiles()
	if err != nil {
		return err
	}
	defer done()
	f, fi, err := openFile(fsys, name)
	if err != nil {
		return err
	}
	defer f.Close()
	use(f, fi)
	return nil
}

// serveFile serves the file the route table names for the request's path:
// http.ServeContent gives it its Content-Type by extension, ranges and
// conditional requests on its ETag and modification time. Anything not in
// the table is 404; a method other than GET or HEAD is 405.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	name, ok := s.routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !allowMethod(w, r) {
		return
	}
	err := s.withFile(name, func(f fs.File, fi fs.FileInfo) {
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			http.Error(w, "route file cannot seek", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), rs)
	})
	if err != nil {
		s.log.Debug("route file", "route", r.URL.Path, "err", err) // warned at start
		http.NotFound(w, r)
	}
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

// pageFS is the embedded page as served: index.html with the command API's
// port written in (0 leaves it empty: the page's own port), every file
// dated when the server was made, since embedded files carry no time; so
// each start of the device has new validators.
type pageFS struct {
	files map[string][]byte
	made  time.Time
}

func newPageFS(wsPort int) *pageFS {
	p := &pageFS{files: map[string][]byte{}, made: time.Now()}
	for _, name := range embeddedRoutes {
		body, err := assets.FS.ReadFile(name)
		if err != nil {
			panic("web: embedded asset " + name + " missing: " + err.Error())
		}
		if name == "index.html" && wsPort > 0 {
			body = bytes.Replace(body, []byte(wsPortMarker),
				[]byte(`name="tether-ws-port" content="`+strconv.Itoa(wsPort)+`"`), 1)
		}
		p.files[name] = body
	}
	return p
}

// Open opens one of the page's files.
func (p *pageFS) Open(name string) (fs.File, error) {
	body, ok := p.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &pageFile{Reader: bytes.NewReader(body), info: pageInfo{name, int64(len(body)), p.made}}, nil
}

// pageFile is an open file of pageFS.
type pageFile struct {
	*bytes.Reader
	info pageInfo
}

func (f *pageFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *pageFile) Close() error               { return nil }

// pageInfo describes a file of pageFS.
type pageInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i pageInfo) Name() string       { return i.name }
func (i pageInfo) Size() int64        { return i.size }
func (i pageInfo) Mode() fs.FileMode  { return 0o444 }
func (i pageInfo) ModTime() time.Time { return i.mod }
func (i pageInfo) IsDir() bool        { return false }
func (i pageInfo) Sys() any           { return nil }
