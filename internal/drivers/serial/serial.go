// Package serial is the "serial" driver kind: a serial port, such as an
// Arduino on /dev/ttyACM0, a USB adapter or a board's UART, declared in
// app.json as {"uart": {"kind": "serial", "port": "/dev/ttyACM0",
// "baud": 115200}}. go.bug.st/serial opens and configures the port; no
// termios is written here.
//
// Each line the port sends goes to every client as {"uart/line": "..."}
// (a "\r" before the "\n" is dropped); in the binary-safe modes "hex" and
// "base64" the bytes go out as {"uart/data": "..."} chunks instead. Send
// writes a line (text plus the line ending), or in a binary mode the bytes
// its text encodes. State keys: "uart/status" (open, waiting for the port,
// or why it is not open), "uart/dropped" and "uart/truncated" (counts).
//
// Start starts one goroutine, the session, which opens the port, reads it,
// and when the port goes away (a USB adapter unplugged) or cannot be
// opened, says so in the status and tries again with capped, jittered
// backoff until it opens again, with no restart. Stop ends the session and
// waits for it. Memory is bounded whatever the port sends: lines are cut
// at max_line bytes and at most max_rate of them a second are passed on,
// the rest counted as dropped.
package serial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"tether/internal/config"
	"tether/internal/drivers"
	"tether/internal/wire"
)

func init() {
	drivers.Register("serial", drivers.Kind{
		New: func(s drivers.Spec) (drivers.Driver, error) {
			return New(s.Config, s.Logger)
		},
		Check: Check,
	})
}

// WriteTimeout bounds one Send: a port that takes no data (a device that
// stopped reading, with its buffers full) fails it instead of blocking.
const WriteTimeout = 2 * time.Second

// Status words, the first word of "<name>/status".
const (
	StatusStopped  = "stopped"
	StatusStarting = "starting" // started, first open not tried yet
	StatusOpen     = "open"     // "open: /dev/ttyACM0 at 115200 8N1"
	StatusWaiting  = "waiting"  // the port is not there (unplugged): it opens when it comes
	StatusError    = "error"    // it is there but cannot be used: busy, wrong settings, no permission
)

// Driver is a serial port driver. Its methods are safe for concurrent use.
type Driver struct {
	name string
	set  settings
	log  *slog.Logger

	writing chan struct{} // one Send at a time; holds a token while writing

	mu        sync.Mutex
	sess      *session // nil when stopped
	port      *port    // nil when not open
	status    string
	dropped   int64
	truncated int64
}

var (
	_ drivers.Driver   = (*Driver)(nil)
	_ drivers.Reporter = (*Driver)(nil)
)

// New returns a stopped driver for c's port; it fails when c's settings
// cannot work. A nil log discards.
func New(c config.Driver, log *slog.Logger) (*Driver, error) {
	set, err := parse(c)
	if err != nil {
		return nil, fmt.Errorf("serial %q: %w", c.Name, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{name: c.Name, set: set, log: log, writing: make(chan struct{}, 1), status: StatusStopped}, nil
}

// Start starts the session that opens the port and keeps it open; lines
// and state changes go to out. It returns at once: the status says
// whether the port opened.
func (d *Driver) Start(ctx context.Context, out func(wire.Message)) error {
	if out == nil {
		out = func(wire.Message) {}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &session{d: d, out: out, cancel: cancel, done: make(chan struct{})}
	d.sess = s
	d.status = StatusStarting + ": " + d.set.String()
	go s.run(ctx)
	return nil
}

// Stop ends the session, closing the port, and waits for it until ctx
// ends.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	s := d.sess
	d.sess = nil
	d.status = StatusStopped
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: port still closing: %w", d.name, ctx.Err())
	}
}

// Running reports whether the driver is started, open or not.
func (d *Driver) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess != nil
}

// State returns the driver's state keys: status, dropped, truncated.
func (d *Driver) State() wire.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stateLocked()
}

func (d *Driver) stateLocked() wire.Message {
	return wire.Message{
		d.name + "/running":   d.sess != nil,
		d.name + "/status":    d.status,
		d.name + "/dropped":   d.dropped,
		d.name + "/truncated": d.truncated,
	}
}

// Send writes text and the line ending to the port (in a binary mode, the
// bytes text encodes). It fails when the driver is stopped or read-only,
// the port is not open, or the port takes no data for WriteTimeout.
func (d *Driver) Send(ctx context.Context, text string) error {
	b, err := d.bytes(text)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, WriteTimeout)
	defer cancel()
	select {
	case d.writing <- struct{}{}:
		defer func() { <-d.writing }()
	case <-ctx.Done():
		return fmt.Errorf("write to %s: other writes still waiting after %v: the port is not taking data", d.name, WriteTimeout)
	}
	p, err := d.openPort()
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	err = p.Write(b, deadline)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("write to %s: the port took no data for %v (is the device reading?)", d.name, WriteTimeout)
	case err != nil:
		return fmt.Errorf("write to %s: %w", d.name, err)
	}
	return nil
}

// bytes is what Send writes for text.
func (d *Driver) bytes(text string) ([]byte, error) {
	if d.set.readOnly {
		return nil, fmt.Errorf("%s is read-only (read_only in app.json): it only listens", d.name)
	}
	if d.set.encoding == "" {
		return []byte(text + d.set.ending), nil
	}
	b, err := decode(d.set.encoding, strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("send to %s: want %s bytes (mode %s): %w", d.name, d.set.encoding, d.set.encoding, err)
	}
	return b, nil
}

// openPort returns the open port, or why there is none.
func (d *Driver) openPort() (*port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.sess == nil:
		return nil, fmt.Errorf("%s is not running: start it first (CMD start_interface)", d.name)
	case d.port == nil:
		return nil, fmt.Errorf("%s is not open: %s", d.name, d.status)
	}
	return d.port, nil
}
