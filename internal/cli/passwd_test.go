package cli_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tether/internal/cli"
	"tether/internal/devauth"
	"tether/internal/login"
)

// TestDevicePasswd: tether device passwd makes a password and prints it
// once, or takes one from standard input without printing it; either way
// only its bcrypt hash is stored, mode 0600. A missing root or a short
// password is refused and nothing is written.
func TestDevicePasswd(t *testing.T) {
	root := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := cli.Run(context.Background(), append([]string{"device", "passwd"}, args...), cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &out})
		return out.String(), err
	}
	hash := func() string {
		b, err := os.ReadFile(filepath.Join(root, devauth.File))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(root, devauth.File))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", devauth.File, fi.Mode().Perm())
		}
		return strings.TrimSpace(string(b))
	}

	out, err := run("", "--root", root)
	m := regexp.MustCompile(`(?m)^    ([a-z2-7]{5}(-[a-z2-7]{5}){3})$`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	if h := hash(); !login.CheckPassword(h, m[1]) || strings.Contains(h, m[1]) {
		t.Errorf("the stored hash %q is not of the printed password", h)
	}

	out, err = run("chosen password\r\nignored\n", "--root", root, "--stdin")
	if err != nil || strings.Contains(out, "chosen password") || !login.CheckPassword(hash(), "chosen password") {
		t.Errorf("passwd --stdin: %v\n%s", err, out)
	}

	var ue *cli.UsageError
	if _, err := run("", "--root", filepath.Join(root, "nope")); !errors.As(err, &ue) {
		t.Errorf("a missing root: %v, want a usage error", err)
	}
	if _, err := run("short\n", "--root", root, "--stdin"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("a short password: %v", err)
	}
	if !login.CheckPassword(hash(), "chosen password") {
		t.Error("a refused password replaced the stored one")
	}
}
