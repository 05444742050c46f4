package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tether/internal/cli"
	"tether/internal/tethertest"
)

// configSeedApp is app.json as the seed wrote it (the acceptance scripts'
// seed_root with ports 80, 8081, 7770, 7777).
var configSeedApp = tethertest.SeedApp("demo", 80, 8081, 7770, 7777)

// configCase is a device root and what config check says about it.
type configCase struct {
	name    string
	network string // "" leaves network.json out
	app     string // "" leaves app.json out
	args    []string
	code    int      // exit status
	want    []string // lines the output holds
	wantNot []string
}

func configCases() []configCase {
	placeholders := []string{
		`network.json:7:18: warning: ap.essid: placeholder "<device AP ssid>", unset`,
		`network.json:14:17: warning: sta.pass: placeholder "<AP password>", unset`,
	}
	stringPort := strings.Replace(configSeedApp, `"port": 80`, `"port": "eighty"`, 1)
	unknown := strings.Replace(configSeedApp, `"port": 8081`, `"port": 8081, "prot": 1`, 1)
	return []configCase{
		{name: "seed", network: tethertest.SeedNetwork, app: configSeedApp, code: 0,
			want: append(placeholders, "device.passwd: note: no device password yet: the device makes one at its next start", ": ok, 4 warnings"), wantNot: []string{"error"}},
		{name: "auth off", network: tethertest.SeedNetwork, app: strings.Replace(configSeedApp, `"app": "demo",`, `"app": "demo", "auth": "off",`, 1), code: 0,
			want: []string{`app.json: note: "auth": "off": the device's page, command API and recovery ask for no password`}, wantNot: []string{"device.passwd"}},
		{name: "auth maybe", network: tethertest.SeedNetwork, app: strings.Replace(configSeedApp, `"app": "demo",`, `"app": "demo", "auth": "maybe",`, 1), code: 1,
			want: []string{`app.json:2:28: error: auth: want "on", "strict" or "off" (or true or false)`}},
		{name: "string port", network: tethertest.SeedNetwork, app: stringPort, code: 1,
			want: []string{`app.json:10:21: error: demo.http.port: want a port number 1-65535, or 0 for any free port, got "eighty"`, ": 1 error, 4 warnings"}},
		{name: "stray comma", network: tethertest.SeedNetwork, app: "{\"app\": \"demo\",\n  \"demo\": {,}\n}\n", code: 1,
			want: []string{"app.json:2:12: error: invalid character ',' looking for beginning of object key string"}},
		{name: "unknown key", network: tethertest.SeedNetwork, app: unknown, code: 0,
			want: []string{`app.json:14:27: warning: demo.websocket.prot: unknown key (did you mean "port"?)`, ": ok, 5 warnings"}},
		{name: "unknown key strict", network: tethertest.SeedNetwork, app: unknown, args: []string{"--strict"}, code: 1,
			want: []string{`app.json:14:27: error: demo.websocket.prot: unknown key`, ": 1 error, 4 warnings"}},
		{name: "empty root", code: 0,
			want: []string{"network.json: note: missing, the embedded defaults apply", "app.json: note: missing, the embedded defaults apply", ": ok"}},
		{name: "both broken", network: `{"device": {"iam": "a b"}}`, app: `{"app": "demo"`, code: 1,
			want: []string{`network.json:1:20: error: device.iam: want a device id`, "app.json:1:15: error: unexpected end of file", ": 2 errors, 0 warnings"}},
		// What the device can never use.
		{name: "id the hub refuses", network: `{"device": {"iam": ".pi"}}`, app: configSeedApp, code: 1,
			want: []string{`network.json:1:20: error: device.iam: want a device id: 1-64 ASCII letters, digits, '.', '_' or '-', not starting with '.', got ".pi"`}},
		{name: "token with CR LF", network: tethertest.SeedNetwork, app: `{"app": "demo", "demo": {"home": {"token": "s3cret\r\nX-Evil: 1"}}}`, code: 1,
			want:    []string{`app.json:1:44: error: demo.home.token: want a token without CR, LF or other control characters`},
			wantNot: []string{"s3cret"}},
		{name: "not UTF-8", network: "{\"sta\": {\"ssid\": \"Caf\xe9\"}}", app: configSeedApp, code: 1,
			want: []string{`network.json:1:22: error: not UTF-8: byte 0xe9 (save the file as UTF-8)`}},
		{name: "unknown app", network: tethertest.SeedNetwork, app: strings.Replace(configSeedApp, `"app": "demo"`, `"app": "dmeo"`, 1), code: 1,
			want: []string{`app.json:2:12: error: app: unknown app "dmeo"; registered: demo, echoserver, recovery`}},
		{name: "process app", network: tethertest.SeedNetwork, app: `{"app": "sensor", "sensor": {"exec": ["/bin/true"]}}`, code: 0,
			wantNot: []string{"unknown app"}},
		{name: "address the machine lacks", network: tethertest.SeedNetwork, app: strings.Replace(configSeedApp, `"ip": "127.0.0.1",
            "port": 80`, `"ip": "192.0.2.1",
            "port": 80`, 1), code: 0,
			want: []string{`app.json:9:19: warning: demo.http.ip: this machine has no address 192.0.2.1`, ": ok, 5 warnings"}},
	}
}

// writeConfigRoot makes a device root for c.
func writeConfigRoot(t *testing.T, c configCase) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{"network.json": c.network, "app.json": c.app} {
		if data == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func checkConfigOutput(t *testing.T, c configCase, root, out string, code int) {
	t.Helper()
	if code != c.code {
		t.Errorf("exit status %d, want %d\n%s", code, c.code, out)
	}
	for _, w := range c.want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, w := range c.wantNot {
		if strings.Contains(out, w) {
			t.Errorf("output has %q:\n%s", w, out)
		}
	}
	if last := lastLine(out); !strings.HasPrefix(last, root+": ") {
		t.Errorf("last line %q is not the summary for %s", last, root)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func runConfigInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), err
}

func TestConfigCheckInProcess(t *testing.T) {
	for _, c := range configCases() {
		t.Run(c.name, func(t *testing.T) {
			root := writeConfigRoot(t, c)
			out, err := runConfigInProcess(t, append([]string{"config", "check", "--root", root}, c.args...)...)
			code := 0
			if err != nil {
				var ee *cli.ExitError
				if !errors.As(err, &ee) || ee.Err != nil {
					t.Fatalf("got %v, want nil or a bare *cli.ExitError", err)
				}
				code = ee.Code
			}
			checkConfigOutput(t, c, root, out, code)
		})
	}
}

func TestConfigCheckBinary(t *testing.T) {
	bin := tethertest.Binary(t)
	for _, c := range configCases() {
		t.Run(c.name, func(t *testing.T) {
			root := writeConfigRoot(t, c)
			out, code := runConfigBinary(t, bin, append([]string{"config", "check", "--root", root}, c.args...)...)
			checkConfigOutput(t, c, root, out, code)
		})
	}
}

func TestConfigCheckUsage(t *testing.T) {
	root := writeConfigRoot(t, configCase{app: configSeedApp})
	tests := []struct {
		name  string
		args  []string
		usage bool     // the error is a *cli.UsageError
		want  []string // in the output or the error
	}{
		{"no root", []string{"config", "check"}, true, []string{"want one device root", "tether config check --root DIR"}},
		{"two roots", []string{"config", "check", "--root", root, "/elsewhere"}, true, []string{"want one device root"}},
		{"root as argument", []string{"config", "check", root}, false, []string{root + ": ok"}},
		{"missing root", []string{"config", "check", "--root", root + "/nope"}, false, []string{root + "/nope: error: no such folder"}},
		{"root is a file", []string{"config", "check", "--root", root + "/app.json"}, false, []string{root + "/app.json: error: is a file, not a folder", "(here " + root + ")"}},
		{"help", []string{"config", "check", "--help"}, false, []string{"--strict", "file, line, column and key path", "Exit status", "placeholder"}},
		{"parent help", []string{"config"}, false, []string{"check", "Validate network.json and app.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runConfigInProcess(t, tt.args...)
			var ue *cli.UsageError
			if got := errors.As(err, &ue); got != tt.usage {
				t.Errorf("got error %v, want a usage error: %v", err, tt.usage)
			}
			all := out
			if ue != nil {
				all += ue.Error() + "\n" + ue.Hint
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

// runConfigBinary runs the tether binary and returns its output and exit
// status.
func runConfigBinary(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cmd.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s: %v", bin, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// ExampleRun_configCheck shows config check on a root whose app.json has a
// port written as a word.
func ExampleRun_configCheck() {
	root, _ := os.MkdirTemp("", "tether-example-")
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "app.json"), []byte(`{"app": "demo",
  "demo": {"http": {"ip": "0.0.0.0", "port": "eighty"}}}`), 0o600)
	var out bytes.Buffer
	err := cli.Run(context.Background(), []string{"config", "check", "--root", root}, cli.Stdio{Out: &out, Err: &out})
	fmt.Print(strings.ReplaceAll(out.String(), root, "ROOT"))
	fmt.Println(err)
	// Output:
	// app.json:2:46: error: demo.http.port: want a port number 1-65535, or 0 for any free port, got "eighty"
	// network.json: note: missing, the embedded defaults apply
	// ROOT/device.passwd: note: no device password yet: the device makes one at its next start and shows it once on its console (or set one: tether device passwd --root ROOT)
	// ROOT: 1 error, 0 warnings
	// exit status 1
}
