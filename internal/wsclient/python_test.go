package wsclient_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
	"tether/internal/wsclient"
)

// pyServer is a Python websockets (Debian 10.4) server: it echoes, replies
// to "headers" with the request headers, to "ping-me" by pinging with the
// payload "py-ping" and then sending "pinged", to "close CODE REASON" by
// closing so; it prints the close code each client sent.
const pyServer = `
import asyncio, json, sys, websockets

async def handler(ws, path):
    try:
        async for m in ws:
            if m == "headers":
                await ws.send(json.dumps(dict(ws.request_headers)))
            elif m == "ping-me":
                await (await ws.ping(b"py-ping"))
                await ws.send("pinged")
            elif m.startswith("close "):
                _, code, reason = m.split(" ", 2)
                await ws.close(int(code), reason)
                return
            else:
                await ws.send("py:" + m)
    finally:
        print("CLOSE", ws.close_code, flush=True)

async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), ping_interval=None):
        print("LISTENING", flush=True)
        await asyncio.Future()

asyncio.run(main())
`

// startPython starts pyServer and returns its ws:// base URL and process.
func startPython(t *testing.T) (string, *tethertest.Proc) {
	t.Helper()
	tethertest.NeedPython(t)
	port := tethertest.FreePort(t)
	p := tethertest.StartCmd(t, exec.Command(tethertest.Python, "-c", pyServer, fmt.Sprint(port)))
	p.WaitOutput("LISTENING", 15*time.Second)
	return fmt.Sprintf("ws://127.0.0.1:%d", port), p
}

func TestPythonPeer(t *testing.T) {
	base, py := startPython(t)
	tests := []struct {
		name      string
		opts      wsclient.Options
		input     string
		wantOut   []string // substrings of stdout
		wantErr   []string // substrings of stderr
		wantExit  int
		wantClose string // what the Python server printed
	}{
		{name: "echo", input: "hello\nworld\n", wantOut: []string{"py:hello\npy:world\n"}, wantClose: "CLOSE 1000"},
		{name: "headers", opts: wsclient.Options{Header: map[string][]string{"Authorization": {"Bearer t0k"}}},
			input: "headers\n", wantOut: []string{`"authorization": "Bearer t0k"`}, wantClose: "CLOSE 1000"},
		{name: "ping from server", opts: wsclient.Options{Verbose: true}, input: "ping-me\n",
			wantOut: []string{"pinged"}, wantErr: []string{`< ping 7 B "py-ping"`, `> pong 7 B "py-ping"`}},
		{name: "ping from client", opts: wsclient.Options{Verbose: true, Ping: 50 * time.Millisecond}, input: "x\n",
			wantErr: []string{`> ping 1 B "1"`, `< pong 1 B "1"`, "Server: Python"}},
		{name: "server closes", input: "close 4003 forbidden\nnot sent\n", wantExit: 2,
			wantErr: []string{`closed by server: 4003 application code: "forbidden"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := strings.Count(py.Output(), "CLOSE")
			tt.opts.Wait = 300 * time.Millisecond
			s := run(t, base+"/"+tt.name, tt.opts, strings.NewReader(tt.input))
			if got := wsclient.ExitCode(s.res, s.err); got != tt.wantExit {
				t.Fatalf("exit code %d (%+v, %v), want %d\n%s", got, s.res, s.err, tt.wantExit, s.errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(s.out, w) {
					t.Errorf("stdout %q lacks %q", s.out, w)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(s.errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, s.errOut)
				}
			}
			waitFor(t, func() bool { // a whole line: the pipe may cut "CLOSE 1000\n"
				o := py.Output()
				return strings.Count(o, "CLOSE") > before && strings.HasSuffix(o, "\n")
			})
			if tt.wantClose != "" && !strings.HasSuffix(strings.TrimSpace(py.Output()), tt.wantClose) {
				t.Errorf("python server printed %q, want it to end with %q", py.Output(), tt.wantClose)
			}
		})
	}
}
