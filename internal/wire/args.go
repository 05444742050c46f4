package wire

import (
	"encoding/json"
	"fmt"
)

// WantArgs checks that r has exactly n arguments, naming them in the error.
func (r Request) WantArgs(names ...string) error {
	if len(r.Args) == len(names) {
		return nil
	}
	if len(names) == 0 {
		return fmt.Errorf("%s %s: want no arguments, got %d", r.Kind, r.Item, len(r.Args))
	}
	return fmt.Errorf("%s %s: want %d arguments %v, got %d", r.Kind, r.Item, len(names), names, len(r.Args))
}

// StringArg returns argument i as a string, or an error naming it.
func (r Request) StringArg(i int, name string) (string, error) {
	if i >= len(r.Args) {
		return "", fmt.Errorf("%s %s: missing argument %d (%s)", r.Kind, r.Item, i+1, name)
	}
	var s string
	if err := json.Unmarshal(r.Args[i], &s); err != nil {
		return "", fmt.Errorf("%s %s: argument %d (%s): want a string, got %s", r.Kind, r.Item, i+1, name, clip(r.Args[i]))
	}
	return s, nil
}
