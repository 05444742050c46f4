package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/cli"
	"tether/internal/tethertest"
)

// devPorts are free ports for one device: http, ws, home, echo, recovery.
type devPorts struct{ http, ws, home, echo, recovery int }

func freeDevPorts(t *testing.T) devPorts {
	return devPorts{tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t)}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// startDevice runs tether device on root with the sim network and the
// recovery page on p.recovery.
func startDevice(t *testing.T, root string, p devPorts) *tethertest.Proc {
	t.Helper()
	return tethertest.Start(t, "device", "--root", root, "--net", "sim", "--recovery-addr", addr(p.recovery))
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = tethertest.DeviceAuth("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// echoOnce checks that an echo server answers on port.
func echoOnce(t *testing.T, port int) {
	t.Helper()
	c := tethertest.DialWS(t, "ws://"+addr(port)+"/", tethertest.WSOptions{})
	c.Send("back up")
	if _, msg := c.Read(); msg != "back up" {
		t.Fatalf("echo: got %q", msg)
	}
	c.Close()
}

const pyDeviceEcho = `
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url, ping_interval=1, max_size=2**22) as ws:
        for i in range(100):
            await ws.send("msg %d" % i)
            assert await asyncio.wait_for(ws.recv(), 5) == "msg %d" % i
        for m in ["x" * (1 << 20), b"\x01" * (1 << 20)]:
            await ws.send(m)
            r = await asyncio.wait_for(ws.recv(), 10)
            assert r == m, "1 MiB echo came back with %d bytes" % len(r)
        await asyncio.wait_for(await ws.ping(), 5)
        await ws.send("z" * ((1 << 20) + 1))
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise SystemExit("FAIL: a message over 1 MiB was echoed")
        except websockets.ConnectionClosed as e:
            assert e.code == 1009, "close code %r, want 1009" % e.code
    print("echo ok: 100 round trips, 1 MiB text and binary, ping, 1009 over 1 MiB")
asyncio.run(main(sys.argv[1]))
`

func TestDeviceBinaryEchoWithPython(t *testing.T) {
	tethertest.NeedPython(t)
	p := freeDevPorts(t)
	proc := startDevice(t, tethertest.SeedRoot(t, "echoserver", p.http, p.ws, p.home, p.echo), p)
	tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
	out := tethertest.RunPython(t, 60*time.Second, pyDeviceEcho, "ws://"+addr(p.echo)+"/")
	if !strings.Contains(out, "echo ok") {
		t.Fatalf("python: %s", out)
	}
	proc.WaitOutput(`attempt 1, starting app \"echoserver\"`, time.Second)
}

func TestDeviceBinaryRecoverySaysWhy(t *testing.T) {
	tests := []struct {
		name string
		app  string
		edit func(string) string
		want []string // on the page, HTML-escaped
	}{
		{"unknown app", "nosuchapp", nil, []string{"unknown app &#34;nosuchapp&#34;; registered: demo, echoserver, recovery"}},
		{"string port", "demo", func(s string) string { return strings.Replace(s, `"port": `, `"port": "eighty", "x": `, 1) },
			[]string{"app.json:10:21: demo.http.port: ", "eighty"}},
		{"syntax error", "demo", func(s string) string { return strings.Replace(s, `"demo": {`, `"demo": {,`, 1) },
			[]string{"app.json:7:14: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := freeDevPorts(t)
			root := tethertest.SeedRoot(t, tt.app, p.http, p.ws, p.home, p.echo)
			if tt.edit != nil {
				path := filepath.Join(root, "app.json")
				b, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(tt.edit(string(b))), 0o644)
			}
			startDevice(t, root, p)
			tethertest.WaitPort(t, addr(p.recovery), 20*time.Second)
			code, page := httpDo(t, "GET", "http://"+addr(p.recovery)+"/", "")
			if code != http.StatusOK {
				t.Fatalf("GET /: got %d", code)
			}
			for _, want := range tt.want {
				if !strings.Contains(page, want) {
					t.Errorf("recovery page lacks %q:\n%s", want, page)
				}
			}
		})
	}
}

func TestDeviceBinaryRepairThroughPage(t *testing.T) {
	p := freeDevPorts(t)
	root := tethertest.SeedRoot(t, "nosuchapp", p.http, p.ws, p.home, p.echo)
	proc := startDevice(t, root, p)
	base := "http://" + addr(p.recovery)
	tethertest.WaitPort(t, addr(p.recovery), 20*time.Second)
	before, _ := os.ReadFile(filepath.Join(root, "app.json"))

	bad, _ := json.Marshal(map[string]string{"text": strings.Replace(tethertest.SeedApp("echoserver", p.http, p.ws, p.home, p.echo), `"listen_port": `, `"listen_port": "x", "y": `, 1)})
	code, body := httpDo(t, "POST", base+"/api/config/app.json", string(bad))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "app.json:5:24: echoserver.listen_port: ") {
		t.Errorf("invalid edit: got %d %s, want 422 locating echoserver.listen_port", code, body)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "app.json")); string(after) != string(before) {
		t.Fatalf("a refused edit changed app.json:\n%s", after)
	}

	good, _ := json.Marshal(map[string]string{"text": tethertest.SeedApp("echoserver", p.http, p.ws, p.home, p.echo)})
	if code, body := httpDo(t, "POST", base+"/api/config/app.json", string(good)); code != http.StatusOK {
		t.Fatalf("save: got %d %s", code, body)
	}
	if code, body := httpDo(t, "POST", base+"/api/restart", ""); code != http.StatusAccepted {
		t.Fatalf("restart: got %d %s", code, body)
	}
	tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
	echoOnce(t, p.echo)
	proc.WaitOutput(`starting app \"echoserver\"`, time.Second)
}

func TestDeviceBinaryRepairOverWebSocket(t *testing.T) {
	p := freeDevPorts(t)
	root := tethertest.SeedRoot(t, "nosuchapp", p.http, p.ws, p.home, p.echo)
	startDevice(t, root, p)
	tethertest.WaitPort(t, addr(p.recovery), 20*time.Second)
	c := tethertest.DialWS(t, "ws://"+addr(p.recovery)+"/", tethertest.WSOptions{Header: tethertest.DeviceAuth()})
	if st := c.ExpectKey("recovery", nil); !strings.Contains(fmt.Sprint(st["recovery/reason"]), `unknown app "nosuchapp"`) {
		t.Errorf("state: got %v", st)
	}
	c.Request("GET", "status", []any{})
	c.ExpectKey("recovery/log", nil)
	c.Request("CMD", "save_config", []any{"app.json", `{"app": "echoserver", "echoserver": {"listen_port": 0.5}}`})
	if m := c.ExpectKey("error", nil); !strings.Contains(fmt.Sprint(m["error"]), "app.json:1:53: echoserver.listen_port") {
		t.Errorf("invalid save: got %v, want it located", m)
	}
	c.Request("CMD", "save_config", []any{"app.json", tethertest.SeedApp("echoserver", p.http, p.ws, p.home, p.echo)})
	c.ExpectKey("recovery/saved", nil)
	c.Request("CMD", "restart", []any{})
	if m := c.ExpectKey("info", nil); !strings.Contains(fmt.Sprint(m["info"]), "restarting") {
		t.Errorf("restart: got %v", m)
	}
	if code, reason := c.CloseStatus(); code != 1001 { // the state follows the reply; then recovery ends
		t.Errorf("recovery's end: got %d %q, want 1001", code, reason)
	}
	tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
	echoOnce(t, p.echo)
}

func TestDeviceBinarySignals(t *testing.T) {
	t.Run("SIGINT exits 130", func(t *testing.T) {
		p := freeDevPorts(t)
		proc := startDevice(t, tethertest.SeedRoot(t, "echoserver", p.http, p.ws, p.home, p.echo), p)
		tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
		proc.Signal(syscall.SIGINT)
		if code := proc.Wait(10 * time.Second); code != 130 {
			t.Errorf("exit code after SIGINT: got %d, want 130", code)
		}
	})
	t.Run("SIGTERM closes clients with 1001 and exits 0", func(t *testing.T) {
		p := freeDevPorts(t)
		proc := startDevice(t, tethertest.SeedRoot(t, "echoserver", p.http, p.ws, p.home, p.echo), p)
		tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
		c := tethertest.DialWS(t, "ws://"+addr(p.echo)+"/", tethertest.WSOptions{})
		c.Send("hi")
		c.Read()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		closed := make(chan error, 1)
		go func() { _, _, err := c.Conn.Read(ctx); closed <- err }() // answers the close as it comes
		proc.Signal(syscall.SIGTERM)
		if code := proc.Wait(5 * time.Second); code != 0 {
			t.Errorf("exit code after SIGTERM: got %d, want 0", code)
		}
		if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client close: got %v, want 1001", err)
		}
	})
}

func TestDeviceInProcess(t *testing.T) {
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"device", "--net", "wifi"},
			{"device", "--root", filepath.Join(t.TempDir(), "missing")},
			{"device", "extra"},
		} {
			var out strings.Builder
			err := cli.Run(context.Background(), args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
			var ue *cli.UsageError
			if !errors.As(err, &ue) || !strings.Contains(ue.Hint, "--help") {
				t.Errorf("%v: got %v, want a usage error pointing at --help", args, err)
			}
		}
	})
	t.Run("runs until its context ends", func(t *testing.T) {
		p := freeDevPorts(t)
		root := tethertest.SeedRoot(t, "echoserver", p.http, p.ws, p.home, p.echo)
		ctx, cancel := context.WithCancel(context.Background())
		var out syncWriter
		done := make(chan error, 1)
		go func() {
			done <- cli.Run(ctx, []string{"device", "--root", root, "--net", "sim"}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
		}()
		tethertest.WaitPort(t, addr(p.echo), 20*time.Second)
		echoOnce(t, p.echo)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: got %v, want nil once its context ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run still running 10 s after its context ended")
		}
		if !strings.Contains(out.String(), `attempt 1, starting app \"echoserver\"`) {
			t.Errorf("log lacks the start:\n%s", out.String())
		}
	})
}

// syncWriter is a strings.Builder safe for the logger's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
