package config

import (
	"os"
	"path/filepath"
	"strings"
)

// salvaged are the sections recovery needs from each file: who the device
// is and its access point, where recovery listens (the demo's page
// address, with its TLS) and the hub it calls home to.
var salvaged = []struct {
	file, path string
	copy       func(dst, src *Config)
}{
	{NetworkFile, "device", func(d, s *Config) { d.Network.Device = s.Network.Device }},
	{NetworkFile, "ap", func(d, s *Config) { d.Network.AP = s.Network.AP }},
	{AppFile, "demo.http", func(d, s *Config) { d.App.Demo.HTTP = s.App.Demo.HTTP }},
	{AppFile, "demo.home", func(d, s *Config) { d.App.Demo.Home = s.App.Demo.Home }},
	{AppFile, "demo.tls", func(d, s *Config) { d.App.Demo.TLS = s.App.Demo.TLS }},
}

// Salvage fills in, on cfg (what Load returned with an error), the
// settings recovery needs from a root that does not load, each from the
// best place it can be read, and records where in cfg.Salvaged. For each
// section (network.json's device and ap, app.json's demo.http, demo.home
// and demo.tls) of a file with errors:
//
//  1. the file itself, when the section reads whole and without error
//     (a syntax error after it does not matter) or the file, read whole,
//     leaves it out (its default is meant);
//  2. else the last good version, name+".bak" (Save keeps it), when that
//     file has the section without error;
//  3. else the embedded default.
//
// So a trailing comma at the end of app.json no longer sends recovery to
// the built-in hub 127.0.0.1:7770 on 0.0.0.0:8080 instead of the
// configured ones. Files without errors are left as Load read them.
func Salvage(root string, cfg *Config, problems []Problem) {
	for _, name := range []string{NetworkFile, AppFile} {
		if !hasErrorsIn(problems, name) {
			continue
		}
		file := readSalvage(root, name)
		bak := readSalvage(root, name+".bak")
		def := rootDefaults(root)
		for _, sec := range salvaged {
			if sec.file != name {
				continue
			}
			from, src := "defaults", def
			switch {
			case file.usable(sec.path):
				from, src = name, file.cfg
			case bak.usable(sec.path):
				from, src = name+".bak", bak.cfg
			}
			sec.copy(cfg, src)
			if cfg.Salvaged == nil {
				cfg.Salvaged = map[string]string{}
			}
			cfg.Salvaged[sec.path] = from
		}
	}
}

// hasErrorsIn reports whether any error of problems is in file.
func hasErrorsIn(problems []Problem, file string) bool {
	for _, p := range problems {
		if !p.Warning && p.File == file {
			return true
		}
	}
	return false
}

// salvageFile is one file read as far as it can be.
type salvageFile struct {
	cfg      *Config
	top      *node
	problems []Problem
}

// readSalvage reads root/name leniently: its tree up to any syntax error,
// decoded onto the defaults. A file that cannot be read has no tree.
func readSalvage(root, name string) salvageFile {
	f := salvageFile{cfg: rootDefaults(root)}
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return f
	}
	file := strings.TrimSuffix(name, ".bak")
	src := &source{file: file, data: data}
	if f.top = parsePartial(src); f.top == nil || f.top.kind != kindObject {
		f.top = nil
		return f
	}
	d := newDecoder(src, Machine{}, "")
	if file == NetworkFile {
		d.decodeNetwork(f.top, &f.cfg.Network)
	} else {
		d.decodeApp(f.top, &f.cfg.App)
	}
	f.problems = d.problems
	return f
}

// usable reports whether the file's section at path (dot-separated) can be
// trusted: read whole without error, or left out of a part of the file
// that was read whole.
func (f salvageFile) usable(path string) bool {
	if f.top == nil {
		return false
	}
	for _, p := range f.problems {
		if !p.Warning && (p.Path == path || strings.HasPrefix(p.Path, path+".")) {
			return false
		}
	}
	n := f.top
	for key := range strings.SplitSeq(path, ".") {
		if n.kind != kindObject {
			return false // not an object where one is wanted: an error above
		}
		child := n.member(key)
		if child == nil {
			return !n.broken // left out, unless the fault may have cut it
		}
		n = child
	}
	return !n.broken
}
