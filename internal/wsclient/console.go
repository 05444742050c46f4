package wsclient

import (
	"fmt"
	"io"
	"sync"
)

// Prompt is what an interactive session shows when it waits for a line.
const Prompt = "> "

// console serializes everything printed to the two streams. When
// interactive, it keeps a prompt at the bottom: before printing, it clears
// the prompt line, and after, it draws the prompt again, so text arriving
// while the user types never runs into the prompt.
type console struct {
	mu          sync.Mutex
	out, errOut io.Writer
	interactive bool
	prompted    bool // the prompt is on screen
}

// message prints a received message on the output stream.
func (c *console) message(s string) { c.print(c.out, s) }

// info prints a status or frame-log line on the error stream.
func (c *console) info(s string) { c.print(c.errOut, s) }

func (c *console) infof(format string, args ...any) { c.info(fmt.Sprintf(format, args...)) }

func (c *console) print(w io.Writer, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompted {
		// Carriage return and erase line: the prompt goes, the text takes its place.
		io.WriteString(c.out, "\r\x1b[K")
	}
	io.WriteString(w, s+"\n")
	if c.prompted {
		io.WriteString(c.out, Prompt)
	}
}

// prompt shows the prompt (interactive sessions only).
func (c *console) prompt() {
	if !c.interactive {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.out, Prompt)
	c.prompted = true
}

// entered records that the user ended a line: the prompt is gone from the
// screen until prompt is called again.
func (c *console) entered() {
	c.mu.Lock()
	c.prompted = false
	c.mu.Unlock()
}

// endPrompt moves off the prompt line before the last words of a session.
func (c *console) endPrompt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompted {
		io.WriteString(c.out, "\r\x1b[K")
		c.prompted = false
	}
}
