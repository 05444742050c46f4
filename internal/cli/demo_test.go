package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/cli"
	"tether/internal/tethertest"
)

// TestDemo runs "tether demo" as a newcomer would, with no flags: it must
// print the URLs to open, each must answer, and the fake interface must be
// driven through the hub with a real WebSocket client. Ctrl-C stops it.
func TestDemo(t *testing.T) {
	p := tethertest.Start(t, "demo")
	p.WaitOutput("Press Ctrl-C to stop.", 30*time.Second)
	urls := regexp.MustCompile(`(?m)^\s+the (device's own page|hub's dashboard|device through hub):\s+(http://\S+)$`).
		FindAllStringSubmatch(p.Output(), -1)
	if len(urls) != 3 {
		t.Fatalf("demo printed %d URLs, want 3:\n%s", len(urls), p.Output())
	}
	for _, u := range urls {
		body := get(t, u[2])
		if !strings.Contains(strings.ToLower(body), "<html") {
			t.Errorf("%s (%s) is not a page: %.80q", u[1], u[2], body)
		}
	}
	dashboard := urls[1][2]
	waitOnline(t, dashboard+"api/devices", "Device_1")
	if !strings.Contains(p.Output(), "AUTH OFF") {
		t.Errorf("the demo's device, asking for no password, does not say so:\n%s", p.Output())
	}

	// Drive the device through the hub's page endpoint, as a page there would.
	ws := tethertest.DialWS(t, "ws"+strings.TrimPrefix(dashboard, "http")+"Device_1", tethertest.WSOptions{})
	ws.Send(`["CMD", "start_interface", []]`)
	ws.ExpectKey("fake_interface/running", true)
	ws.Send(`["CMD", "send_message", ["hello from the demo test"]]`)
	ws.ExpectKey("fake_interface/msg", "HELLO FROM THE DEMO TEST")
	ws.Send(`["CMD", "stop_interface", []]`)
	ws.ExpectKey("fake_interface/running", false)

	p.Signal(syscall.SIGINT)
	if code := p.Wait(5 * time.Second); code != 130 {
		t.Fatalf("exit code after Ctrl-C = %d, want 130", code)
	}
}

// get fetches url, with the device password of tethertest's roots (an
// open hub takes no notice of it).
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := tethertest.DeviceClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// waitOnline polls the hub's device list until id is online.
func waitOnline(t *testing.T, url, id string) {
	t.Helper()
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		var devs []struct {
			ID     string `json:"id"`
			Online bool   `json:"online"`
		}
		if json.Unmarshal([]byte(get(t, url)), &devs) == nil {
			for _, d := range devs {
				if d.ID == id && d.Online {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never listed %s online", url, id)
}

// TestDemoKeptRoot runs "tether demo --root DIR" on a root that already
// has its config: the device serves where demo.http says, the hub listens
// where demo.home says, and every URL printed is true: the device's page,
// and the device online through the hub under its own id. Port flags and
// --id, which could not apply, are refused.
func TestDemoKeptRoot(t *testing.T) {
	devPort, homePort := tethertest.FreePort(t), tethertest.FreePort(t)
	root := tethertest.SeedRoot(t, "demo", devPort, devPort, homePort, tethertest.FreePort(t))
	for _, flag := range []string{"--device-port", "--hub-device-port", "--id"} {
		var out strings.Builder
		err := cli.Run(context.Background(), []string{"demo", "--root", root, flag, "9"}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "already holds app.json") {
			t.Errorf("demo --root %s: got %v, want a usage error saying the root's settings apply", flag, err)
		}
	}
	p := tethertest.Start(t, "demo", "--root", root, "--hub-page-port", "0") // 0: a port of its choosing
	p.WaitOutput("Press Ctrl-C to stop.", 30*time.Second)
	dashboard := p.WaitMatch(`the hub's dashboard:\s+(http://127\.0\.0\.1:\d+/)\n`, time.Second)[1]
	for _, want := range []string{
		fmt.Sprintf("the device's own page:    http://127.0.0.1:%d/\n", devPort),
		"the hub's dashboard:      " + dashboard + "\n",
		"the device through hub:   " + dashboard + "d/Device_1/\n",
		"Device root (kept): " + root,
	} {
		if !strings.Contains(p.Output(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.Output())
		}
	}
	get(t, fmt.Sprintf("http://127.0.0.1:%d/", devPort))
	waitOnline(t, dashboard+"api/devices", "Device_1")
	p.Signal(syscall.SIGINT)
	if code := p.Wait(6 * time.Second); code != 130 {
		t.Errorf("exit code after Ctrl-C = %d, want 130", code)
	}
}
