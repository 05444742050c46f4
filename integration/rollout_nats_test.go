package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/hub/broker/natsbroker/natstest"
	"tether/internal/tethertest"
)

// TestRolloutAcrossNATS: two hubs joined over NATS, each with its own
// --update-dir and one shared --artifact-dir. An update pushed to hub A
// reaches a device connected to hub B (the command goes through the
// cluster, the device's state comes back through it), the device
// downloads the artifact from its own hub B, and commits.
func TestRolloutAcrossNATS(t *testing.T) {
	ns := natstest.Start(t)
	shared := t.TempDir()
	hub := func(name string) (dev, page string) {
		p := tethertest.Start(t, "hub", "--name", name, "--device-addr", "127.0.0.1:0", "--page-addr", "127.0.0.1:0",
			"--nats", ns.URL(), "--update-dir", t.TempDir(), "--artifact-dir", shared)
		return p.HubAddrs(15 * time.Second)
	}
	_, pageA := hub("hub-a")
	devB, _ := hub("hub-b")

	r := &updRig{t: t, keys: t.TempDir(), page: pageA, window: "3s"}
	r.run("keys", "init", "--dir", r.keys)
	pub, _ := os.ReadFile(filepath.Join(r.keys, "update.pub"))
	root := t.TempDir()
	tethertest.WriteFile(t, filepath.Join(root, "network.json"), `{"device": {"iam": "Device_1"}}`)
	tethertest.WriteFile(t, filepath.Join(root, "app.json"), fmt.Sprintf(`{"app": "demo",
  "demo": {"http": {"ip": "127.0.0.1", "port": 0}, "home": {"ip": "127.0.0.1", "port": %s}}}`, devB[strings.LastIndexByte(devB, ':')+1:]))
	os.MkdirAll(filepath.Join(root, "keys"), 0o755)
	tethertest.WriteFile(t, filepath.Join(root, "keys", "update.pub"), string(pub))
	dev := tethertest.StartCmd(t, exec.Command(tethertest.Binary(t), "device", "--root", root, "--net", "sim",
		"--update-window", r.window, "--recovery-addr", "127.0.0.1:0"))
	dev.WaitOutput("connected to home", 30*time.Second)

	// Hub A sees Device_1 online through the cluster before the push.
	end := time.Now().Add(30 * time.Second)
	for {
		var d struct {
			Online bool   `json:"online"`
			Hub    string `json:"hub"`
		}
		r.api("/api/devices/Device_1", &d)
		if d.Online && d.Hub == "hub-b" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("hub A does not see Device_1 on hub B: %+v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
	state, reason := r.result(r.push(r.packDemo("2")), 90*time.Second)
	if state != "committed" {
		t.Fatalf("Device_1 on hub B, pushed to hub A: %s (%s), want committed", state, reason)
	}
	if !strings.Contains(dev.Output(), "update downloaded") {
		t.Fatalf("the device did not download the artifact from hub B:\n%s", dev.Output())
	}
}
