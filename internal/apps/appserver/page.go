package appserver

import (
	"io/fs"
	"path"
	"path/filepath"
)

// maxPageFiles bounds the route table made of a page folder.
const maxPageFiles = 2000

// pageRoutes is the web server's route table: the page folder's files when
// Options.Page names one, else the section's routes (none: the embedded
// page).
func (s *Server) pageRoutes() map[string]string {
	if s.opts.Page == "" || s.cfg.Root == "" {
		return s.opts.Settings.Routes
	}
	routes, err := folderRoutes(s.cfg.Root, s.opts.Page)
	if err != nil || len(routes) == 0 {
		s.log.Warn("page folder unusable: serving the generated page", "page", s.opts.Page, "err", err)
		return s.opts.Settings.Routes
	}
	return routes
}

// folderRoutes maps every regular file under root/dir to its URL path
// ("/js/app.js" → "dir/js/app.js"), and "/" to its index.html (or
// index.htm). Names starting with "." are left out; the table is read
// once, when the app starts, so files added later need a restart (files
// edited show at once: the web server opens them per request).
func folderRoutes(root, dir string) (map[string]string, error) {
	routes := map[string]string{}
	base := filepath.Join(root, filepath.FromSlash(dir))
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != base && e.Name()[0] == '.' {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		if len(routes) >= maxPageFiles {
			return filepath.SkipAll
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		routes["/"+rel] = path.Join(filepath.ToSlash(dir), rel)
		return nil
	})
	for _, index := range []string{"/index.htm", "/index.html"} {
		if f, ok := routes[index]; ok {
			routes["/"] = f
		}
	}
	return routes, err
}
