// Package wsclient is the logic of tether ws, a WebSocket client for people
// and scripts: it sends each line of its input as a text message and prints
// every message as it arrives, keeps the connection alive with pings, and
// with Verbose prints the handshake and every frame, pings and pongs
// included, from the raw bytes on the wire.
//
// Interactive sessions show a prompt and keep it intact while messages
// arrive; scripted sessions (input not a terminal) send every line, wait for
// the replies to stop, and close with 1000. ExitCode maps the way a session
// ended to a process exit code.
package wsclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"tether/internal/wsconn"
)

// Defaults for the zero Options.
const (
	DefaultMaxMessage  = 16 << 20
	DefaultWait        = time.Second
	DefaultDialTimeout = 10 * time.Second
	writeTimeout       = 10 * time.Second
	binaryPreview      = 64
)

// Options says how to run a session. The zero value dials with the system's
// roots, sends no pings, accepts messages up to 16 MiB and, when scripted,
// waits 1 s of quiet after the last line.
type Options struct {
	// Header holds extra handshake headers (e.g. Authorization); a "Host"
	// entry overrides the Host header.
	Header http.Header
	// TLS configures wss:// connections; nil means the system's roots.
	TLS *tls.Config
	// Ping is the interval between keepalive pings, and how long a pong may
	// take before the connection counts as dead; zero sends no pings.
	Ping time.Duration
	// MaxMessage is the largest message accepted, in bytes; a larger one
	// closes the connection with 1009. Zero means DefaultMaxMessage.
	MaxMessage int64
	// Wait is, for scripted sessions, how long to wait after the last input
	// line until no message has arrived for that long; zero means
	// DefaultWait, negative closes at once.
	Wait time.Duration
	// DialTimeout bounds the connection and handshake; zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Verbose prints the handshake and every frame on the error stream.
	Verbose bool
	// Interactive shows a prompt and closes at the end of input without
	// waiting; set it when the input is a terminal.
	Interactive bool
}

func (o Options) withDefaults() Options {
	if o.Header == nil {
		o.Header = http.Header{}
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.Wait == 0 {
		o.Wait = DefaultWait
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	return o
}

// Result is how a session ended: the close code and reason, and whether the
// server sent the close (else this client closed, with 1000).
type Result struct {
	Code     int
	Reason   string
	ByServer bool
}

// ExitCode maps the end of a session to a process exit code: 0 for a
// normal closure (1000, sent by either side), 2 for any other close code
// from the server, and 1 when there was no close handshake at all (the
// connection could not be made, was lost, or stopped answering pings).
func ExitCode(res Result, err error) int {
	switch {
	case err != nil:
		return 1
	case res.Code == wsconn.StatusNormal:
		return 0
	}
	return 2
}

// Run connects to url and runs a session: lines from in are sent, messages
// are printed on out, status and frame logs on errOut. It returns when the
// input ends (after the wait, when scripted), when ctx is cancelled (closing
// with 1000, as for Ctrl-C) or when the server closes. The goroutine reading
// in may stay blocked in Read after Run returns when in cannot be
// interrupted (a terminal); it sends nothing more.
func Run(ctx context.Context, url string, opts Options, in io.Reader, out, errOut io.Writer) (Result, error) {
	o := opts.withDefaults()
	con := &console{out: out, errOut: errOut, interactive: o.Interactive}
	c, err := dial(ctx, url, o, con)
	if err != nil {
		return Result{}, err
	}
	if o.Interactive {
		con.infof("connected to %s (Ctrl-D or Ctrl-C to close)", url)
	}
	s := &session{c: c, con: con, opts: o, readDone: make(chan struct{}), activity: make(chan struct{}, 1)}
	return s.run(ctx, in)
}

// session is one connection's state; run owns its goroutines.
type session struct {
	c    *wsconn.Conn
	con  *console
	opts Options

	readDone chan struct{} // closed when the read loop ends; readErr is set
	readErr  error
	activity chan struct{} // a message arrived (scripted waits restart)

}

func (s *session) run(ctx context.Context, in io.Reader) (Result, error) {
	connCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.readLoop(connCtx) })
	if s.opts.Ping > 0 {
		wg.Go(func() { s.c.Keepalive(connCtx, s.opts.Ping) }) // a missing pong ends readLoop
	}
	stop := make(chan struct{})
	lines := readLines(in, s.con, stop)
	res, err := s.loop(ctx, lines)
	close(stop)
	cancel()
	s.c.CloseNow()
	wg.Wait()
	s.con.endPrompt()
	s.report(res, err)
	return res, err
}

// loop sends lines until the input ends, ctx ends or the server closes.
func (s *session) loop(ctx context.Context, lines <-chan string) (Result, error) {
	var quiet <-chan time.Time
	var timer *time.Timer
	s.con.prompt()
	for {
		select {
		case <-ctx.Done():
			return s.close()
		case <-s.readDone:
			return s.ended()
		case <-s.activity:
			if timer != nil {
				timer.Reset(s.opts.Wait)
			}
		case <-quiet:
			return s.close()
		case line, ok := <-lines:
			if !ok {
				if s.opts.Interactive || s.opts.Wait < 0 {
					return s.close()
				}
				lines = nil
				timer = time.NewTimer(s.opts.Wait)
				defer timer.Stop()
				quiet = timer.C
				continue
			}
			if err := s.send(line); err != nil {
				return s.sendFailed(err)
			}
			s.con.prompt()
		}
	}
}

func (s *session) send(line string) error {
	if line == "" {
		return nil
	}
	return s.c.Write(context.Background(), []byte(line)) // within writeTimeout
}

// sendFailed reports a failed write: as the server's close when one
// arrives soon (it usually explains the failure), else as the error.
func (s *session) sendFailed(err error) (Result, error) {
	select {
	case <-s.readDone:
		return s.ended()
	case <-time.After(5 * time.Second):
		return Result{}, fmt.Errorf("send: %w", err)
	}
}

// close runs the close handshake with 1000. When it fails because the
// server had closed first, the server's close is the result.
func (s *session) close() (Result, error) {
	if err := s.c.Close(wsconn.StatusNormal, ""); err != nil {
		select {
		case <-s.readDone:
			if res, err := s.ended(); err == nil && res.ByServer {
				return res, nil
			}
		default:
		}
	}
	return Result{Code: wsconn.StatusNormal}, nil
}

// ended reports why the read loop ended: the server's close, or a lost
// connection.
func (s *session) ended() (Result, error) {
	if errors.Is(s.readErr, wsconn.ErrNoPong) {
		return Result{}, s.readErr
	}
	if code, reason, ok := wsconn.CloseReason(s.readErr); ok {
		return Result{Code: code, Reason: reason, ByServer: true}, nil
	}
	return Result{}, fmt.Errorf("connection lost: %w", s.readErr)
}

func (s *session) report(res Result, err error) {
	if err != nil {
		return // the caller prints errors
	}
	who := "closed"
	if res.ByServer {
		who = "closed by server"
	}
	msg := fmt.Sprintf("%s: %d %s", who, int(res.Code), closeName(res.Code))
	if res.Reason != "" {
		msg += fmt.Sprintf(": %q", res.Reason)
	}
	s.con.info(msg)
}

func (s *session) readLoop(ctx context.Context) {
	defer close(s.readDone)
	for {
		text, data, err := s.c.Read(ctx)
		if err != nil {
			s.readErr = err
			return
		}
		select {
		case s.activity <- struct{}{}:
		default:
		}
		if text {
			s.con.message(string(data))
			continue
		}
		preview, more := data, ""
		if len(preview) > binaryPreview {
			preview, more = preview[:binaryPreview], "..."
		}
		s.con.message(fmt.Sprintf("[binary %d B] %x%s", len(data), preview, more))
	}
}

// readLines sends each line of in (without its line ending) until in ends
// or stop is closed; the channel closes at the end of input.
func readLines(in io.Reader, con *console, stop <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				con.entered()
				select {
				case ch <- strings.TrimRight(line, "\r\n"):
				case <-stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

var closeNames = map[int]string{
	1000: "normal closure", 1001: "going away", 1002: "protocol error", 1003: "unsupported data",
	1005: "no status", 1006: "abnormal closure", 1007: "invalid payload", 1008: "policy violation",
	1009: "message too big", 1010: "mandatory extension", 1011: "internal error",
	1012: "service restart", 1013: "try again later", 1014: "bad gateway", 1015: "TLS handshake",
}

func closeName(c int) string {
	if n, ok := closeNames[c]; ok {
		return n
	}
	if c >= 4000 && c < 5000 {
		return "application code"
	}
	return "unknown code"
}
