package wsconn_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPackageMap checks the package doc's map of who uses which WebSocket
// code against what the packages (tests left out) import.
func TestPackageMap(t *testing.T) {
	want := map[string][]string{
		"github.com/coder/websocket":    {"internal/tethertest", "internal/wsconn"},
		"tether/internal/wsconn":        {"internal/apps/echoserver", "internal/apps/recovery", "internal/callhome", "internal/web", "internal/wsclient"},
		"tether/internal/hub/hubws":     {"internal/hub"},
		"tether/internal/bench/benchws": {"internal/bench", "internal/bench/mqtt"},
		"tether/internal/wsframe": {"internal/apps/recovery", "internal/bench/benchws", "internal/devtls",
			"internal/hub", "internal/hub/hubws", "internal/web", "internal/wsclient"},
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "tether/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	got := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if _, ok := want[imp]; ok {
				got[imp] = append(got[imp], strings.TrimPrefix(p.ImportPath, "tether/"))
			}
		}
	}
	for lib, users := range want {
		slices.Sort(got[lib])
		if !slices.Equal(got[lib], users) {
			t.Errorf("%s is imported by %v; the package doc's map says %v: update one of them", lib, got[lib], users)
		}
	}
}
