package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one located problem in a config file.
type Problem struct {
	File    string // "app.json"; the root folder for a problem with the root itself
	Line    int    // 1-based; 0 when not known
	Col     int    // 1-based, in characters; 0 when not known
	Path    string // key path, "demo.http.port"; "" for the whole file
	Msg     string // "want a port number 1-65535, got \"eighty\""
	Warning bool   // reported, not fatal: an unknown key, a placeholder
	// Unknown marks an unknown key: a warning, but an error under
	// CheckStrict.
	Unknown bool
}

// Pos returns the problem's location: "app.json:7:14", "app.json:7" or
// "app.json" as far as it is known.
func (p Problem) Pos() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// String returns the located line:
// "app.json:7:14: demo.http.port: want a port number 1-65535, got \"eighty\"".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Pos() + ": " + p.Msg
	}
	return p.Pos() + ": " + p.Path + ": " + p.Msg
}

// Error is every problem found loading a device root or validating a file;
// Load, Validate's callers and Save return it when any problem is not a
// warning. Problems holds the warnings too, for context.
type Error struct{ Problems []Problem }

// Error returns every problem, one per line: errors first, then warnings
// marked "warning: ", each group in file order.
func (e *Error) Error() string {
	var lines []string
	for _, warnings := range []bool{false, true} {
		for _, p := range e.Problems {
			if p.Warning != warnings {
				continue
			}
			if p.Warning {
				lines = append(lines, "warning: "+p.String())
			} else {
				lines = append(lines, p.String())
			}
		}
	}
	return strings.Join(lines, "\n")
}

// Describe returns e's errors for people, one located problem a line
// ("app.json:7:14: demo.http.port: want ..."), leaving out the warnings.
func (e *Error) Describe() string {
	var lines []string
	for _, p := range e.Problems {
		if !p.Warning {
			lines = append(lines, p.String())
		}
	}
	return strings.Join(lines, "\n")
}

// Describe renders err for people: a config *Error (wrapped or not) as its
// Describe, anything else as its message; "" for nil.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var ce *Error
	if errors.As(err, &ce) && HasErrors(ce.Problems) {
		return ce.Describe()
	}
	return err.Error()
}

// HasErrors reports whether any of problems is not a warning.
func HasErrors(problems []Problem) bool {
	for _, p := range problems {
		if !p.Warning {
			return true
		}
	}
	return false
}

// asError returns problems as an *Error when any of them is an error, and
// nil otherwise.
func asError(problems []Problem) error {
	if !HasErrors(problems) {
		return nil
	}
	return &Error{Problems: problems}
}

// Strict returns problems with unknown-key warnings made errors, as
// "tether config check --strict" reports them. problems is not modified.
func Strict(problems []Problem) []Problem {
	out := make([]Problem, len(problems))
	for i, p := range problems {
		if p.Unknown {
			p.Warning = false
		}
		out[i] = p
	}
	return out
}

// keyPlaces holds where an app.json entry gave each of its keys; the key
// "" is the entry itself. Drivers and process entries keep one, so that
// checks made after loading can point at the file.
type keyPlaces map[string]Problem

// problem returns msg as a problem about the key of the entry named name,
// located where the file gives the key (at the entry when the key is
// absent; at app.json's top when the entry was not read from a file).
func (at keyPlaces) problem(name, key, msg string, warning bool) Problem {
	p, ok := at[key]
	if !ok {
		p = at[""]
		if p.File == "" {
			p = Problem{File: AppFile, Path: name}
		}
		p.Path = joinPath(p.Path, key)
	}
	p.Msg, p.Warning = msg, warning
	return p
}
