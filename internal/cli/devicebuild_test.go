package cli_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tether/internal/tethertest"
)

// TestDeviceBuild checks the device-only build (go build -tags
// tether_device): it leaves out the hub, the benchmarks and what only they
// need (Prometheus, NATS, gws, protobuf), keeps the device and the tools a
// device uses, and refuses the commands it lacks like any unknown command.
func TestDeviceBuild(t *testing.T) {
	root := tethertest.ProjectRoot(t)
	out, err := exec.Command("go", "list", "-C", root, "-deps", "-tags", "tether_device", "./cmd/tether").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -tags tether_device: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, bad := range []string{"github.com/prometheus/", "github.com/nats-io/", "github.com/lxzan/gws",
			"google.golang.org/protobuf/", "tether/internal/hub", "tether/internal/bench"} {
			if strings.HasPrefix(d, bad) {
				t.Errorf("device build links %s: want none of %s", d, bad)
			}
		}
	}
	for _, want := range []string{"tether/internal/device", "tether/internal/apps/demo", "tether/internal/apps/echoserver", "tether/internal/apps/recovery", "tether/internal/apps/process"} {
		if !slices.Contains(deps, want) {
			t.Errorf("device build lacks %s", want)
		}
	}

	bin := filepath.Join(t.TempDir(), "tether-device")
	if out, err := exec.Command("go", "build", "-C", root, "-tags", "tether_device", "-o", bin, "./cmd/tether").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags tether_device: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("tether --help: %v\n%s", err, help)
	}
	cmds := helpCommands(string(help))
	for _, tt := range []struct {
		cmd  string
		want bool
	}{
		{"device", true}, {"config", true}, {"ws", true}, {"certs", true},
		{"hub", false}, {"bench", false}, {"demo", false},
	} {
		if slices.Contains(cmds, tt.cmd) != tt.want {
			t.Errorf("device build: command %q listed = %v, want %v (commands: %v)", tt.cmd, !tt.want, tt.want, cmds)
		}
	}
	out, err = exec.Command(bin, "hub").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), `unknown command "hub"`) {
		t.Errorf("device build, tether hub: got %v, %q; want exit 1 and unknown command", err, out)
	}
}

// helpCommands returns the names under "Available Commands:" in cobra's help.
func helpCommands(help string) []string {
	_, rest, _ := strings.Cut(help, "Available Commands:\n")
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(l, "  ") {
			break
		}
		out = append(out, f[0])
	}
	return out
}
