package cli_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/tethertest"
)

// TestDeviceStateShowsVersion runs the demo app in the binary: the state
// object a page gets names tether's own release version.
func TestDeviceStateShowsVersion(t *testing.T) {
	p := freeDevPorts(t)
	root := tethertest.SeedRoot(t, "demo", p.http, p.http, p.home, p.echo)
	proc := startDevice(t, root, p)
	tethertest.WaitPort(t, addr(p.http), 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr(p.http)+"/", nil)
	if err != nil {
		t.Fatalf("dial the command API: %v\n%s", err, proc.Output())
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	var state map[string]any
	if err != nil || json.Unmarshal(b, &state) != nil {
		t.Fatalf("first message: %q, %v", b, err)
	}
	if state["version"] != tethertest.Version {
		t.Errorf("state version = %v, want the binary's %q", state["version"], tethertest.Version)
	}
}
