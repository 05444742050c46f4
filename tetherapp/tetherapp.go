// Package tetherapp writes a tether process app in Go with the standard
// library alone: declare items and state keys, handle requests, publish
// values, over JSON lines on standard input and output. It is outside
// internal/ so that programs of other modules can import it, and one file,
// to copy as well: docs/APPS.md says how; examples/apps/goapp uses it.
package tetherapp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// Msg is a message of flat keys: a reply, a broadcast or state values.
type Msg map[string]any

// Arg describes an item's argument. Type is "string", "number",
// "integer", "boolean" or "json"; optional arguments come last.
type Arg struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Optional bool   `json:"optional,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

// Handler answers a request: a Msg replies to the client that asked, an
// error is answered {"error": ...}.
type Handler func(r *Request) (Msg, error)

// Request is a client's request for one of the app's items.
type Request struct {
	From string            `json:"from"` // the client, for replies
	Kind string            `json:"kind"` // "GET" or "CMD"
	Item string            `json:"item"`
	Args []json.RawMessage `json:"args"` // checked against the item's Args by tether
	app  *App
}

// Arg decodes argument i into v; a left-out optional argument leaves v.
func (r *Request) Arg(i int, v any) error {
	if i >= len(r.Args) {
		return nil
	}
	if err := json.Unmarshal(r.Args[i], v); err != nil {
		return fmt.Errorf("argument %d: %w", i+1, err)
	}
	return nil
}

// Reply sends m to the client that asked, now or later.
func (r *Request) Reply(m Msg) error {
	return r.app.send(Msg{"type": "reply", "to": r.From, "msg": m})
}

// Hello is tether's first line: the app, the device, its root, its entry.
type Hello struct {
	App    string          `json:"app"`
	Device string          `json:"device"`
	Root   string          `json:"root"`
	Tether string          `json:"tether"`
	Config json.RawMessage `json:"config"`
}

type (
	item struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		Args []Arg  `json:"args"`
		Doc  string `json:"doc,omitempty"`
	}
	key struct {
		Key string `json:"key"`
		Doc string `json:"doc,omitempty"`
	}
)

// App is a process app. Declare its items and keys, then Run it.
type App struct {
	// Hello is tether's first line, once Run has read it.
	Hello Hello
	// Gone, when set, is called with the id of a client that has gone.
	Gone func(client string)
	// Hears are drivers the entry declares ("uart") whose messages Heard
	// gets ({"uart/line": "HELLO"}). Set it before Run.
	Hears []string
	// Heard, when set, is called with each message of the drivers Hears
	// names, and the outcome of Driver ({"info": ...} or {"error": ...}).
	Heard func(m Msg)

	in       io.Reader
	mu       sync.Mutex // one line at a time on out
	out      io.Writer
	items    []item
	keys     []key
	handlers map[string]Handler
}

// New returns an App on standard input and output.
func New() *App { return NewIO(os.Stdin, os.Stdout) }

// NewIO returns an App reading from in and writing to out.
func NewIO(in io.Reader, out io.Writer) *App {
	return &App{in: in, out: out, handlers: map[string]Handler{}}
}

// Get declares a GET item.
func (a *App) Get(name, doc string, h Handler, args ...Arg) { a.Item("GET", name, doc, h, args...) }

// Cmd declares a CMD item.
func (a *App) Cmd(name, doc string, h Handler, args ...Arg) { a.Item("CMD", name, doc, h, args...) }

// Item declares an item of kind "GET" or "CMD" with its handler.
func (a *App) Item(kind, name, doc string, h Handler, args ...Arg) {
	a.items = append(a.items, item{Kind: kind, Name: name, Args: append([]Arg{}, args...), Doc: doc})
	a.handlers[kind+" "+name] = h
}

// Key declares a state key, which the generated page shows live.
func (a *App) Key(k, doc string) { a.keys = append(a.keys, key{Key: k, Doc: doc}) }

// State merges values (nil removes a key) into the state object every
// client gets, locally and through the hub. Safe from any goroutine.
func (a *App) State(values Msg) error { return a.send(Msg{"type": "state", "state": values}) }

// Broadcast sends m to every client, once: an event.
func (a *App) Broadcast(m Msg) error { return a.send(Msg{"type": "broadcast", "msg": m}) }

// Driver has tether do op ("start", "stop", or "send" text) to the
// driver called name; Heard gets the outcome.
func (a *App) Driver(name, op, text string) error {
	return a.send(Msg{"type": "driver", "driver": name, "op": op, "text": text})
}

// send writes one protocol line, m (its keys in any order).
func (a *App) send(m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("tetherapp: encode %s: %w", m["type"], err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err = a.out.Write(append(b, '\n'))
	return err
}

// Run announces the app, then handles requests one at a time until its
// input ends (tether stops it).
func (a *App) Run() error {
	if err := a.send(Msg{"type": "announce", "items": a.items, "keys": a.keys, "drivers": a.Hears}); err != nil {
		return err
	}
	sc := bufio.NewScanner(a.in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var in struct {
			Type   string `json:"type"`
			Client string `json:"client"`
			Msg    Msg    `json:"msg"`
			Request
			Hello
		}
		if json.Unmarshal(sc.Bytes(), &in) != nil {
			continue
		}
		switch in.Type {
		case "hello":
			a.Hello = in.Hello
		case "gone":
			if a.Gone != nil {
				a.Gone(in.Client)
			}
		case "driver":
			if a.Heard != nil {
				a.Heard(in.Msg)
			}
		case "request":
			r := in.Request
			r.app = a
			a.handle(&r)
		}
	}
	return sc.Err()
}

func (a *App) handle(r *Request) {
	m, err := Msg(nil), fmt.Errorf("no handler")
	if h, ok := a.handlers[r.Kind+" "+r.Item]; ok {
		m, err = h(r)
	}
	if err != nil {
		m = Msg{"error": fmt.Sprintf("%s %s: %v", r.Kind, r.Item, err)}
	}
	if m != nil {
		r.Reply(m)
	}
}
