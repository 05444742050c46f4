// Package httpjson writes the answers of tether's JSON HTTP APIs (the
// hub's and recovery's): a value, or {"error": message} with the status
// that says what went wrong. Answers are indented for people reading them
// with curl, and never cached.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers with status code and v as JSON.
func Write(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // an error here is the client's going away
}

// Error answers with status code and {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, map[string]string{"error": msg})
}
