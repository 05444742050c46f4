package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Process is a process app's entry in app.json: a section holding an
// "exec" key, whatever its name:
//
//	"weather": {"exec": ["python3", "apps/weather/main.py"],
//	            "env": {"CITY": "Paris"}, "page": "apps/weather/www",
//	            "http": {"ip": "0.0.0.0", "port": 8080}, ...}
//
// It takes the demo's keys (Served: http, websocket, home, routes, origins,
// max_message, tls, drivers) with the same meanings and defaults. Keys
// tether does not know are the program's own settings: the whole entry
// (Raw) is handed to the program. docs/APPS.md describes them.
type Process struct {
	// Name is the entry's key in app.json, the app's name.
	Name string
	// Exec is the program and its arguments. A first element holding a
	// "/" is a path, relative to the device root unless absolute; one
	// without is looked up on PATH ("python3").
	Exec []string
	// Env are variables added to the program's environment.
	Env map[string]string
	// Page is a folder under the device root whose files replace the
	// generated page ("" means the generated page).
	Page string
	// StopGrace is how long the program has to exit after SIGTERM before
	// it is killed; zero means DefaultStopGrace.
	StopGrace time.Duration
	// Served are the page, command API and call-home settings.
	Served
	// Raw is the entry as app.json holds it.
	Raw json.RawMessage

	at keyPlaces // where each key was given
}

// DefaultStopGrace is a process app's StopGrace when app.json gives none.
const DefaultStopGrace = 3 * time.Second

// Problem returns msg as a problem about the entry's key ("exec[0]"),
// located where the file gives it (at the entry when the key is absent):
// for checks made after loading, such as whether the program exists.
func (p *Process) Problem(key, msg string, warning bool) Problem {
	return p.at.problem(p.Name, key, msg, warning)
}

// Process returns the process app app.json names, or nil when it names a
// built-in app.
func (a *App) Process() *Process {
	return a.Processes[a.Name]
}

// ServedBy returns the section whose page, command API and call-home
// settings the app app.json names uses: its own entry for a process app,
// else "demo" (the built-in apps and recovery use the demo's).
func (a *App) ServedBy() (section string, s Served) {
	if p := a.Process(); p != nil {
		return p.Name, p.Served
	}
	return "demo", a.Demo
}

// builtinSections are app.json's sections of built-in apps, which a
// program cannot take over.
var builtinSections = []string{"demo", "echoserver", "recovery"}

// The rules of a process entry's keys.
var (
	execArg = stringRule{
		want: "a program or argument: a non-empty string without NUL",
		ok:   func(s string) bool { return s != "" && !strings.ContainsRune(s, 0) },
	}
	envValue = stringRule{
		want: "a string without NUL",
		ok:   func(s string) bool { return !strings.ContainsRune(s, 0) },
	}
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	pageDir   = stringRule{want: "a folder inside the device root (relative, no \"..\")", ok: localFile.ok}
	stopGrace = intRule{want: "seconds 1-300 (0 for the default, 3)", min: 0, max: 300}
)

// decodeProcesses decodes every section of top holding "exec" as a
// process app, starting from defaults (the demo's); an "exec" in a
// built-in app's section is an error.
func (d *decoder) decodeProcesses(top *node, a *App, defaults Served) {
	a.Processes = map[string]*Process{}
	for _, m := range top.members {
		if m.val.kind != kindObject || m.val.member("exec") == nil {
			continue
		}
		if isBuiltin(m.key) {
			d.errorf(m.val.member("exec").start, m.key+".exec",
				"%q is a built-in app's section: give your program a section of its own name (\"myapp\": {\"exec\": [...]}) and set \"app\": \"myapp\"", m.key)
			continue
		}
		if _, dup := a.Processes[m.key]; !dup { // duplicates are reported by members
			a.Processes[m.key] = d.process(m.key, m.val, defaults)
		}
	}
}

func isBuiltin(name string) bool {
	for _, b := range builtinSections {
		if b == name {
			return true
		}
	}
	return false
}

// process decodes one process entry.
func (d *decoder) process(name string, n *node, defaults Served) *Process {
	p := &Process{Name: name, Served: defaults, Raw: d.raw(n),
		at: keyPlaces{"": d.src.problem(n.start, name, "")}}
	var grace int
	fs := servedFields(&p.Served)
	fs["exec"] = execField(p)
	fs["env"] = envField(&p.Env)
	fs["page"] = str(&p.Page, pageDir)
	fs["stop_grace"] = integer(&grace, stopGrace)
	d.members(n, name, fs, func(m member, path string) {
		if suggest(m.key, fs) != "" { // a likely typo; other keys are the program's
			d.unknown(m, path, fs)
		}
	})
	if n.member("websocket") == nil {
		p.WebSocket = p.HTTP // one listener serves both
	}
	p.StopGrace = time.Duration(grace) * time.Second
	for _, m := range n.members {
		p.at[m.key] = d.src.problem(m.val.start, joinPath(name, m.key), "")
	}
	if e := n.member("exec"); e != nil && e.kind == kindArray {
		for i, el := range e.elems {
			key := fmt.Sprintf("exec[%d]", i)
			p.at[key] = d.src.problem(el.start, joinPath(name, key), "")
		}
	}
	return p
}

// execField decodes "exec": a non-empty array of strings.
func execField(p *Process) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindArray || len(n.elems) == 0 || len(n.elems) > 1024 {
			d.errorf(n.start, path, `want the program and its arguments as an array of strings (["python3", "apps/weather/main.py"]), got %s`, describeExec(n))
			return
		}
		argv := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			s, ok := d.text(e, fmt.Sprintf("%s[%d]", path, i), execArg)
			if !ok || s == "" {
				return
			}
			argv = append(argv, s)
		}
		p.Exec = argv
	}
}

func describeExec(n *node) string {
	if n.kind == kindArray && len(n.elems) == 0 {
		return "an empty array"
	}
	if n.kind == kindArray {
		return fmt.Sprintf("an array of %d elements", len(n.elems))
	}
	return describe(n)
}

// envField decodes "env": an object of variable name → string.
func envField(p *map[string]string) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindObject {
			d.errorf(n.start, path, `want an object of variable name → value ({"CITY": "Paris"}), got %s`, describe(n))
			return
		}
		env := map[string]string{}
		fs := fields{}
		for _, m := range n.members {
			fs[m.key] = func(d *decoder, v *node, path string) {
				switch {
				case !envName.MatchString(m.key):
					d.errorf(m.keyOff, path, "want a variable name: a letter or '_', then letters, digits or '_'")
				case strings.HasPrefix(m.key, "TETHER_"):
					d.errorf(m.keyOff, path, "TETHER_ variables are set by tether itself (docs/APPS.md)")
				default:
					if s, ok := d.text(v, path, envValue); ok {
						env[m.key] = s
					}
				}
			}
		}
		d.members(n, path, fs, nil)
		*p = env
	}
}
