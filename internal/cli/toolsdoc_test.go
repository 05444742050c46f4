package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestToolsDocWifiReplies asks a real device (demo app, joined to the
// simulated network "tether-lab", as tether demo's is) for GET wifi and
// checks that docs/TOOLS.md's example shows the replies it really sends:
// the same messages, one key each, in the same order.
func TestToolsDocWifiReplies(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(tethertest.ProjectRoot(t), "docs", "TOOLS.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\{"(?:info|wifi/)[^\n]*\})$`).FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, replyKeys(t, m[1]))
	}
	if len(documented) < 5 {
		t.Fatalf("docs/TOOLS.md shows %d GET wifi replies, want the example", len(documented))
	}

	p := freeDevPorts(t)
	root := tethertest.SeedRoot(t, "demo", p.http, p.http, p.home, p.echo)
	network := strings.NewReplacer(`"<AP ssid>"`, `"tether-lab"`, `"<AP password>"`, `"tether123"`).Replace(tethertest.SeedNetwork)
	tethertest.WriteFile(t, filepath.Join(root, "network.json"), network)
	startDevice(t, root, p)
	tethertest.WaitPort(t, addr(p.http), 30*time.Second)
	c := tethertest.DialWS(t, "ws://"+addr(p.http)+"/", tethertest.WSOptions{Header: tethertest.DeviceAuth()})
	var got []string
	for joined := false; !joined; time.Sleep(100 * time.Millisecond) { // until the station has joined: the doc's case
		c.Send(`["GET", "wifi", []]`)
		got = got[:0]
		c.Expect("wifi status done", func(msg string) bool {
			k := replyKeys(t, msg)
			if k == "info" || strings.HasPrefix(k, "wifi/") {
				got = append(got, k)
			}
			if k == "wifi/net/connected" {
				joined = strings.Contains(msg, "true")
			}
			return strings.Contains(msg, "wifi status done")
		})
	}
	if strings.Join(got, " ") != strings.Join(documented, " ") {
		t.Errorf("GET wifi replies with keys\n  %v\ndocs/TOOLS.md shows\n  %v", got, documented)
	}
}

// replyKeys returns the keys of one reply object, joined by ",".
func replyKeys(t *testing.T, msg string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("reply %s: %v", msg, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}
