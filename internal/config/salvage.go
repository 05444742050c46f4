package config

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
)

// salvaged are network.json's sections recovery needs: who the device is
// and its access point.
var salvaged = []struct {
	path string
	copy func(dst, src *Config)
}{
	{"device", func(d, s *Config) { d.Network.Device = s.Network.Device }},
	{"ap", func(d, s *Config) { d.Network.AP = s.Network.AP }},
}

// servedParts are the keys of app.json's served section (the demo's, or
// the process app's it names) recovery needs: where it listens, with its
// TLS, and the hub it calls home to.
var servedParts = []struct {
	key  string
	copy func(dst, src *Served)
}{
	{"http", func(d, s *Served) { d.HTTP = s.HTTP }},
	{"home", func(d, s *Served) { d.Home = s.Home }},
	{"tls", func(d, s *Served) { d.TLS = s.TLS }},
}

// Salvage fills in, on cfg (what Load returned with an error), the
// settings recovery needs from a root that does not load, each from the
// best place it can be read, and records where in cfg.Salvaged. For each
// section (network.json's device and ap; app.json's http, home and tls of
// the served section: the process app the file names, else demo; and its
// top-level auth, whether the device password is asked for) of a file
// with errors:
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
	if hasErrorsIn(problems, NetworkFile) {
		file, bak, def := readSalvage(root, NetworkFile), readSalvage(root, NetworkFile+".bak"), rootDefaults(root)
		for _, sec := range salvaged {
			from, src := pick(sec.path, NetworkFile, file, bak, def)
			sec.copy(cfg, src)
			cfg.salvaged(sec.path, from)
		}
	}
	if hasErrorsIn(problems, AppFile) {
		salvageServed(root, cfg)
	}
}

// salvageServed salvages the served section's keys of app.json.
func salvageServed(root string, cfg *Config) {
	file, bak, def := readSalvage(root, AppFile), readSalvage(root, AppFile+".bak"), rootDefaults(root)
	name := file.processName()
	if name == "" && !file.namesApp() { // else the file says which app runs
		name = bak.processName()
	}
	name = cmp.Or(name, "demo")
	dst := &cfg.App.Demo // what recovery serves by when no process app loaded
	if p := cfg.App.Process(); p != nil {
		dst = &p.Served
	}
	for _, part := range servedParts {
		path := name + "." + part.key
		from, src := pick(path, AppFile, file, bak, def)
		part.copy(dst, src.served(name))
		cfg.salvaged(path, from)
	}
	from, src := pick("auth", AppFile, file, bak, def)
	cfg.App.Auth = src.App.Auth
	cfg.salvaged("auth", from)
}

// pick returns where the section at path is best read from (name, its
// .bak, or the defaults) and that config.
func pick(path, name string, file, bak salvageFile, def *Config) (string, *Config) {
	switch {
	case file.usable(path):
		return name, file.cfg
	case bak.usable(path):
		return name + ".bak", bak.cfg
	}
	return "defaults", def
}

// salvaged records that the section at path came from from.
func (c *Config) salvaged(path, from string) {
	if c.Salvaged == nil {
		c.Salvaged = map[string]string{}
	}
	c.Salvaged[path] = from
}

// served returns the served settings of the section name: the demo's, a
// process app's, or the built-in defaults when c has no such app.
func (c *Config) served(name string) *Served {
	if p := c.App.Processes[name]; p != nil && name != "demo" {
		return &p.Served
	}
	if name != "demo" {
		return &Default().App.Demo
	}
	return &c.App.Demo
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

// namesApp reports whether the file says which app runs beyond doubt: its
// "app" reads whole, and the entry it names (unless a built-in app's) is
// not cut short by the fault. Then a .bak naming another app is not asked:
// a file switched from a process app to the demo keeps the demo's hub.
func (f salvageFile) namesApp() bool {
	if f.top == nil || f.top.member("app") == nil || !f.usable("app") {
		return false
	}
	return isBuiltin(f.cfg.App.Name) || f.usable(f.cfg.App.Name)
}

// processName is the app the file names when its section is a process
// app's ("exec"), read as far as the file reads; "" otherwise.
func (f salvageFile) processName() string {
	if f.top == nil {
		return ""
	}
	app := f.top.member("app")
	if app == nil || app.kind != kindString {
		return ""
	}
	name := f.cfg.App.Name
	if sec := f.top.member(name); name == "" || sec == nil || sec.kind != kindObject || sec.member("exec") == nil {
		return ""
	}
	return name
}
