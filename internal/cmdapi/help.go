package cmdapi

import (
	"context"
	"slices"
	"strings"

	"tether/internal/wire"
)

// Item describes one request a Server answers, for GET help: its kind and
// name, its arguments, a line of doc, and whether it is the app's own
// (a process app's) or tether's.
type Item struct {
	Kind string `json:"kind"` // wire.Get or wire.Cmd
	Name string `json:"name"`
	Args []Arg  `json:"args"`
	Doc  string `json:"doc,omitempty"`
	// App marks an item of the app's own, which the generated page shows
	// as a control; tether's own items have their own cards.
	App bool `json:"app,omitempty"`
}

// Arg describes one argument of an item.
type Arg struct {
	Name string `json:"name"`
	// Type is "string", "number", "integer", "boolean" or "json" (any
	// JSON value).
	Type string `json:"type"`
	// Optional arguments come last and may be left out.
	Optional bool   `json:"optional,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

// Key describes one key of the state object.
type Key struct {
	Key  string `json:"key"`
	Doc  string `json:"doc,omitempty"`
	Type string `json:"type,omitempty"`
}

// Help is the answer to GET help: the app, every item the Server answers
// and the state keys the app announced.
type Help struct {
	App   string `json:"app"`
	Items []Item `json:"items"`
	State []Key  `json:"state"`
}

// Describe records what item it.Kind it.Name takes and does, for GET help;
// an item never described is listed with its kind and name only.
// Describing an item does not register a handler for it.
func (s *Server) Describe(it Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string]Item{}
	}
	if it.Args == nil {
		it.Args = []Arg{}
	}
	s.docs[it.Kind+" "+it.Name] = it
}

// Remove unregisters the handler and description of kind and item.
func (s *Server) Remove(kind, item string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.handlers, kind+" "+item)
	delete(s.docs, kind+" "+item)
}

// Described lists every item with a handler, with its description, sorted
// by name then kind.
func (s *Server) Described() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.handlers))
	for k := range s.handlers {
		it, ok := s.docs[k]
		if !ok {
			kind, name, _ := strings.Cut(k, " ")
			it = Item{Kind: kind, Name: name, Args: []Arg{}}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b Item) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

// HelpHandler is the handler of GET help: it answers {"help": Help} for
// app, with every item the Server answers and the state keys state
// returns (nil: none).
func (s *Server) HelpHandler(app string, state func() []Key) Handler {
	return func(ctx context.Context, req wire.Request, reply Reply) error {
		if err := req.WantArgs(); err != nil {
			return err
		}
		reply(wire.Message{"help": s.Help(app, state)})
		return nil
	}
}

// Help returns the description GET help answers.
func (s *Server) Help(app string, state func() []Key) Help {
	h := Help{App: app, Items: s.Described(), State: []Key{}}
	if state != nil {
		h.State = append(h.State, state()...)
	}
	return h
}
