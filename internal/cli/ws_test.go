package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/certs"
	"tether/internal/cli"
	"tether/internal/tethertest"
)

// wsServer is a coder/websocket server for the ws tests: it answers "who"
// with the device id of the client certificate, "close N REASON" by closing
// so, "later m" with "echo:m" after 200 ms, anything else m with "echo:m"; closes records the codes clients sent.
type wsServer struct {
	url    string
	mu     sync.Mutex
	closes []int
}

func newWSServer(t *testing.T, tlsConfig *tls.Config) *wsServer {
	t.Helper()
	s := &wsServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsConfig != nil {
		srv.TLS = tlsConfig
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/Device_1"
	return s
}

func (s *wsServer) closeCodes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.closes...)
}

func (s *wsServer) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			s.mu.Lock()
			s.closes = append(s.closes, int(websocket.CloseStatus(err)))
			s.mu.Unlock()
			return
		}
		msg := string(data)
		switch {
		case msg == "who" && r.TLS != nil:
			c.Write(ctx, websocket.MessageText, []byte("you are "+certs.PeerID(r.TLS.VerifiedChains)))
		case strings.HasPrefix(msg, "later "):
			// Answer once the client shows its prompt again.
			time.Sleep(200 * time.Millisecond)
			c.Write(ctx, websocket.MessageText, []byte("echo:"+strings.TrimPrefix(msg, "later ")))
		case strings.HasPrefix(msg, "close "):
			f := strings.SplitN(msg, " ", 3)
			code, _ := strconv.Atoi(f[1])
			c.Close(websocket.StatusCode(code), f[2])
			return
		default:
			c.Write(ctx, websocket.MessageText, []byte("echo:"+msg))
		}
	}
}

// wsRun runs tether in-process with input as standard input.
func wsRun(t *testing.T, input string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(input), Out: &out, Err: &errOut})
	return out.String(), errOut.String(), err
}

func exitCodeOf(err error) int {
	var ee *cli.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	}
	return 1
}

func TestWSInProcess(t *testing.T) {
	srv := newWSServer(t, nil)
	tests := []struct {
		name     string
		input    string
		args     []string
		wantOut  string
		wantErr  string // substring of stderr, or of the error
		wantExit int
	}{
		{"echo", "one\ntwo\n", nil, "echo:one\necho:two\n", "closed: 1000 normal closure", 0},
		{"server closes", "a\nclose 4001 bad token\n", nil, "echo:a\n", `closed by server: 4001 application code: "bad token"`, 2},
		{"no wait", "x\n", []string{"--wait", "0"}, "", "closed: 1000", 0},
		{"bad header", "", []string{"--header", "nocolon"}, "", `--header "nocolon": want "Key: Value"`, 1},
		{"bad scheme", "", []string{"ftp://x/"}, "", `want ws:// or wss://`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"ws", srv.url, "--wait", "300ms"}, tt.args...)
			if tt.name == "bad scheme" {
				args = []string{"ws", tt.args[0]}
			}
			out, errOut, err := wsRun(t, tt.input, args...)
			if got := exitCodeOf(err); got != tt.wantExit {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tt.wantExit, errOut)
			}
			if tt.name != "no wait" && out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if got := errOut + fmt.Sprint(err); !strings.Contains(got, tt.wantErr) {
				t.Errorf("stderr and error %q lack %q", got, tt.wantErr)
			}
		})
	}
}

// wsCerts makes a CA, a server certificate for 127.0.0.1 and a Device_1
// client certificate with the real binary, and returns their folder.
func wsCerts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"certs", "init", "--dir", dir},
		{"certs", "server", "--dir", dir, "--ip", "127.0.0.1"},
		{"certs", "device", "--dir", dir, "Device_1"},
	} {
		if out, err := exec.Command(tethertest.Binary(t), args...).CombinedOutput(); err != nil {
			t.Fatalf("tether %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// runBinary runs the tether binary with input as standard input.
func runBinary(t *testing.T, input string, args ...string) (out string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tethertest.Binary(t), args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(cmd.Environ(), "GORACE=atexit_sleep_ms=0") // a -race binary sleeps 1 s at exit otherwise
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run tether: %v", err)
	}
	return string(b), cmd.ProcessState.ExitCode()
}

func TestWSBinary(t *testing.T) {
	dir := wsCerts(t)
	plain := newWSServer(t, nil)
	serverTLS, err := certs.ServerTLS(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	secure := newWSServer(t, serverTLS)
	mutualTLS, err := certs.ServerTLS(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	mutual := newWSServer(t, mutualTLS)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "ws://" + ln.Addr().String() + "/"
	ln.Close()
	ca := filepath.Join(dir, "ca.crt")
	dev := []string{"--cert", filepath.Join(dir, "Device_1.crt"), "--key", filepath.Join(dir, "Device_1.key")}

	tests := []struct {
		name     string
		input    string
		args     []string
		want     []string
		wantExit int
	}{
		{"echo", "hi\n", []string{plain.url}, []string{"echo:hi\n", "closed: 1000 normal closure"}, 0},
		{"server close code", "close 1011 oops\n", []string{plain.url}, []string{`closed by server: 1011 internal error: "oops"`}, 2},
		{"refused", "hi\n", []string{refused}, []string{"Error: dial " + refused, "connection refused"}, 1},
		{"wss with --ca", "hi\n", []string{secure.url, "--ca", ca}, []string{"echo:hi\n"}, 0},
		{"wss with --insecure", "hi\n", []string{secure.url, "--insecure"}, []string{"echo:hi\n"}, 0},
		{"wss untrusted", "hi\n", []string{secure.url}, []string{"certificate", "--ca FILE"}, 1},
		{"wss client certificate", "who\n", append([]string{mutual.url, "--ca", ca}, dev...), []string{"you are Device_1\n"}, 0},
		{"wss without client certificate", "who\n", []string{mutual.url, "--ca", ca}, []string{"Error: "}, 1},
		{"missing CA file", "", []string{secure.url, "--ca", filepath.Join(dir, "nope.crt")}, []string{"nope.crt: missing"}, 1},
		{"wss -v shows plaintext", "hi\n", []string{secure.url, "--ca", ca, "-v"}, []string{"> GET /Device_1 HTTP/1.1", `< text 7 B "echo:hi"`}, 0},
		{"-v", "hi\n", []string{plain.url, "-v"}, []string{"> GET /Device_1 HTTP/1.1", "< HTTP/1.1 101 Switching Protocols", `> text 2 B "hi"`, `< text 7 B "echo:hi"`, `> close 1000 ""`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runBinary(t, tt.input, append([]string{"ws", "--wait", "300ms"}, tt.args...)...)
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantExit, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestWSInterrupt checks that SIGINT (Ctrl-C) closes with 1000 and exits 0.
func TestWSInterrupt(t *testing.T) {
	srv := newWSServer(t, nil)
	cmd := exec.Command(tethertest.Binary(t), "ws", srv.url, "--wait", "1m")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := tethertest.StartCmd(t, cmd)
	defer stdin.Close()
	io.WriteString(stdin, "still here\n")
	p.WaitOutput("echo:still here", 15*time.Second)
	p.Signal(syscall.SIGINT)
	if code := p.Wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "closed: 1000 normal closure") {
		t.Errorf("output lacks the close:\n%s", p.Output())
	}
	if got := srv.closeCodes(); len(got) != 1 || got[0] != 1000 {
		t.Errorf("server received close codes %v, want [1000]", got)
	}
}

// TestWSPythonBinary runs the binary against a Python websockets server
// that pings: -v shows its ping and our pong with the payload, and ours.
func TestWSPythonBinary(t *testing.T) {
	tethertest.NeedPython(t)
	port := tethertest.FreePort(t)
	py := tethertest.StartCmd(t, exec.Command(tethertest.Python, "-c", `
import asyncio, sys, websockets
async def handler(ws, path):
    async for m in ws:
        await (await ws.ping(b"are-you-there"))
        await ws.send(ws.request_headers.get("X-Trace", "none") + ":" + m)
    print("CLOSE", ws.close_code, flush=True)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), ping_interval=None):
        print("LISTENING", flush=True)
        await asyncio.Future()
asyncio.run(main())
`, strconv.Itoa(port)))
	py.WaitOutput("LISTENING", 15*time.Second)
	url := fmt.Sprintf("ws://127.0.0.1:%d/x", port)
	out, code := runBinary(t, "a\nb\n", "ws", url, "-v", "--ping", "50ms", "--wait", "300ms", "-H", "X-Trace: t-1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, w := range []string{
		"t-1:a\n", "t-1:b\n",
		`< ping 13 B "are-you-there"`, `> pong 13 B "are-you-there"`,
		`> ping 1 B "1"`, `< pong 1 B "1"`,
		"< Server: Python",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	py.WaitOutput("CLOSE 1000", 10*time.Second)
}

// ptyScript runs argv[1:] on a pseudo-terminal, as a person at a terminal
// would: it waits for the prompt, types a line, waits for the echo, types
// half a line and presses Ctrl-C; it prints what the terminal showed and
// the exit status.
const ptyScript = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def wait_for(s):
    global out
    end = time.time() + 15
    while s not in out:
        if time.time() > end:
            sys.exit("timeout waiting for %r; got %r" % (s, out))
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
wait_for(b"> ")
os.write(fd, b"later hello\n")
wait_for(b"echo:hello")
wait_for(b"echo:hello\r\n> ")
os.write(fd, b"half")
os.write(fd, b"\x03")
wait_for(b"closed")
_, status = os.waitpid(pid, 0)
sys.stdout.write(repr(out.decode()) + "\n")
print("exit", os.waitstatus_to_exitcode(status))
`

// TestWSInteractive drives the binary on a pseudo-terminal: a prompt, the
// prompt redrawn below a message that arrives, and Ctrl-C closing with 1000.
func TestWSInteractive(t *testing.T) {
	srv := newWSServer(t, nil)
	out := tethertest.RunPython(t, 30*time.Second, ptyScript, tethertest.Binary(t), "ws", srv.url)
	for _, w := range []string{
		`connected to ` + srv.url,
		`> later hello\r\n`,        // the prompt, and the line as typed
		`\r\x1b[Kecho:hello\r\n> `, // prompt erased, message, prompt again
		`closed: 1000 normal closure`,
		"exit 0",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("terminal lacks %q:\n%s", w, out)
		}
	}
	if got := srv.closeCodes(); len(got) != 1 || got[0] != 1000 {
		t.Errorf("server received close codes %v, want [1000]", got)
	}
}
