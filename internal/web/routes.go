package web

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// checkRoutes logs every route whose file cannot be served: missing, a
// folder, or outside the root (a path or a symlink leading out of it).
func (s *Server) checkRoutes() {
	for route, file := range s.opts.Routes {
		if _, err := s.openRoute(file); err != nil {
			s.log.Warn("route will answer 404", "route", route, "file", file, "err", err)
		}
	}
}

// openRoute opens a route's file inside the root. os.OpenInRoot refuses
// names and symlinks that lead outside the root.
func (s *Server) openRoute(file string) (*os.File, error) {
	name := filepath.FromSlash(file)
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("open route file %q: want a path inside the device root", file)
	}
	if s.opts.Root == "" {
		return nil, fmt.Errorf("open route file %q: no device root", file)
	}
	f, err := os.OpenInRoot(s.opts.Root, name)
	if err != nil {
		return nil, fmt.Errorf("open route file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open route file %q: want a regular file, got %v", file, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// serveRoute serves the file a route names, opened for this request and
// streamed: ranges and conditional requests through http.ServeContent, or
// gzip on the fly for a compressible type the client accepts gzipped.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request) {
	file, ok := s.opts.Routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !allowMethod(w, r) {
		return
	}
	f, err := s.openRoute(file)
	if err != nil {
		s.log.Debug("route file", "route", r.URL.Path, "err", err) // warned at start
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "stat route file", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	ctype := contentType(file)
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	etag := fmt.Sprintf(`"%x-%x`, fi.Size(), fi.ModTime().UnixNano())
	if !compressible(ctype) {
		h.Set("ETag", etag+`"`)
		http.ServeContent(w, r, path.Base(file), fi.ModTime(), f)
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) || r.Header.Get("Range") != "" {
		h.Set("ETag", etag+`"`)
		http.ServeContent(w, r, path.Base(file), fi.ModTime(), f)
		return
	}
	etag += `-gz"`
	h.Set("ETag", etag)
	if noneMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	if r.Method == http.MethodHead {
		return
	}
	zw := getGzip(w)
	defer putGzip(zw)
	if _, err := io.Copy(zw, f); err != nil {
		s.log.Debug("route file cut short", "route", r.URL.Path, "err", err)
		return
	}
	zw.Close()
}

// noneMatch reports whether an If-None-Match header matches etag (weakly).
func noneMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
