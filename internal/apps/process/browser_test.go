package process_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// The generated page of the shell counter, in Chromium, locally and
// through a real hub: the app's card from its announcement, a click on an
// item changes its value live, an optional argument is sent, a GET's
// reply shows. The screenshot through the hub goes to docs/img/app-page.png
// when that file is missing or TETHER_SCREENSHOTS is set.
func TestGeneratedPage(t *testing.T) {
	t.Parallel()
	devPort, pages := hub(t)
	dev, addr := device(t, exampleRoot(t, "shell", atoi(t, devPort)))
	dev.WaitOutput("connected to home", 30*time.Second)
	for _, url := range []string{"http://" + addr + "/", "http://" + pages + "/d/Device_1/"} {
		shot := filepath.Join(t.TempDir(), "app-page.png")
		out := tethertest.Browser(t, "app-page.mjs", url, shot)
		if !strings.Contains(out, "app page ok") {
			t.Fatalf("%s: browser said:\n%s", url, out)
		}
		if strings.Contains(url, "/d/") {
			tethertest.KeepScreenshot(t, shot, "app-page.png")
		}
	}
}

// An app with a page folder of its own: the hub serves tether's page with
// the generated card (it serves no page a device supplies), and the card
// says the app has a page of its own on the device's port.
func TestOwnPageThroughHub(t *testing.T) {
	t.Parallel()
	devPort, pages := hub(t)
	root := exampleRoot(t, "shell", atoi(t, devPort))
	if err := os.Mkdir(filepath.Join(root, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	tethertest.WriteFile(t, filepath.Join(root, "www", "index.html"), "<!doctype html><title>counter</title><p>my own page</p>")
	b, _ := os.ReadFile(filepath.Join(root, "app.json"))
	tethertest.WriteFile(t, filepath.Join(root, "app.json"), strings.Replace(string(b), `"exec":`, `"page": "www", "exec":`, 1))
	dev, addr := device(t, root)
	res, err := tethertest.DeviceClient.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "my own page") {
		t.Fatalf("the device's port serves %q, want the app's own page", body)
	}
	dev.WaitOutput("connected to home", 30*time.Second)
	shot := filepath.Join(t.TempDir(), "own-page.png")
	out := tethertest.Browser(t, "app-page.mjs", "http://"+pages+"/d/Device_1/", shot, "www")
	if !strings.Contains(out, "app page ok") {
		t.Fatalf("browser said:\n%s", out)
	}
}

// The seed's fake interface as a Python process app (examples/apps/
// fake-interface) under the very browser test of the built-in demo's
// page (e2e/page.mjs), locally and through a real hub as the demo's
// (each on a device of its own: the test stores a network, which takes
// the access point down): the page drives it unchanged.
func TestFakeInterfaceAppInChromium(t *testing.T) {
	t.Parallel()
	tethertest.NeedPython(t)
	devPort, pages := hub(t)
	for _, via := range []string{"local", "hub"} {
		home := 0
		if via == "hub" {
			home = atoi(t, devPort)
		}
		dev, addr := device(t, exampleRoot(t, "fake-interface", home))
		url := "http://" + addr + "/"
		if via == "hub" {
			dev.WaitOutput("connected to home", 30*time.Second)
			url = "http://" + pages + "/d/Device_1/"
		}
		shot := filepath.Join(t.TempDir(), "fake-interface.png")
		out := tethertest.Browser(t, "page.mjs", url, shot, "Device_1")
		if !strings.Contains(out, "browser flow ok") {
			t.Fatalf("%s: browser said:\n%s", url, out)
		}
	}
}
