// Package audit is the hub's audit log: one JSON line per administrative
// action (who, when, from where, on which device, what, allowed or
// refused), in a file of its own, apart from the message log. The file is
// kept as the message log is (package relaylog: rotated daily and at a
// size, bounded in total, a full disk counted and survived); secrets in
// the requests it records are masked (package redact) and long requests
// cut. Every line is flushed as it is written: an action is on disk before
// the hub goes on. Log is safe for concurrent use; a nil *Log records
// nothing.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"tether/internal/redact"
	"tether/internal/relaylog"
)

// Entry is one administrative action.
type Entry struct {
	Time time.Time `json:"time"`
	// Who did it: a user's name, a page token's name (or "token
	// sha256:<first 8 hex digits>"), "anyone" on an open hub, or
	// "device <id>" for an enrollment.
	Who string `json:"who"`
	// Remote is the address it came from.
	Remote string `json:"remote,omitempty"`
	// Device is the device it was done to, when one.
	Device string `json:"device,omitempty"`
	// Action is what: a command protocol request ("CMD restart"), or one
	// of the hub's own ("forget", "enroll code", "enroll").
	Action string `json:"action"`
	// Request is the request as sent (masked, at most MaxRequest bytes).
	Request string `json:"request,omitempty"`
	// Allowed says whether the hub let it through; Reason why not, or
	// what came of it ("device offline").
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"`
	// Masked says secrets in Request were masked; Cut that it was cut.
	Masked bool `json:"masked,omitempty"`
	Cut    bool `json:"cut,omitempty"`
}

// MaxRequest bounds the request text an entry keeps, in bytes.
const MaxRequest = 4096

// Log is an open audit log.
type Log struct {
	rl *relaylog.Log
}

// Open opens (appending) or creates the audit log; opts are the message
// log's (path, rotation, bounds, logger).
func Open(opts relaylog.Options) (*Log, error) {
	opts.What = "audit log"
	rl, err := relaylog.Open(opts)
	if err != nil {
		return nil, err
	}
	return &Log{rl: rl}, nil
}

// Record writes e (its Time set to now when zero) and flushes it.
func (l *Log) Record(e Entry) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	if e.Request != "" {
		req, masked := redact.Message([]byte(e.Request))
		e.Request, e.Masked = string(req), masked
		if len(e.Request) > MaxRequest {
			e.Request, e.Cut = cut(e.Request, MaxRequest), true
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return // only strings and a time: cannot fail
	}
	if l.rl.WriteLine(e.Time, buf.Bytes()) == nil {
		l.rl.Flush()
	}
}

// Lost is how many entries could not be written (a full disk).
func (l *Log) Lost() uint64 {
	if l == nil {
		return 0
	}
	return l.rl.Lost()
}

// Close flushes and closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	if err := l.rl.Close(); err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}

// cut returns at most n bytes of s, not splitting a character.
func cut(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
