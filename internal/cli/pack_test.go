package cli_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"tether/internal/artifact"
	"tether/internal/cli"
	"tether/internal/tethertest"
)

// TestKeysAndPack makes a key pair, packs an app folder and the tether
// binary with it, and reads both back as a device would.
func TestKeysAndPack(t *testing.T) {
	dir := t.TempDir()
	out, err := certsRun(t, "keys", "init", "--dir", dir)
	if err != nil || !strings.Contains(out, "update.pub") || !strings.Contains(out, "key id ") {
		t.Fatalf("keys init: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dir, "update.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("update.key: %v %v, want mode 0600", st, err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "update.pub"))
	pk, err := artifact.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keys := artifact.NewKeyring(pk)

	app := filepath.Join(dir, "weather")
	os.MkdirAll(app, 0o755)
	os.WriteFile(filepath.Join(app, "main.py"), []byte("print(1)\n"), 0o644)
	appArt := filepath.Join(dir, "weather.tether")
	out, err = certsRun(t, "pack", "--app", app, "--name", "weather", "--version", "2.0", "--key", filepath.Join(dir, "update.key"), "-o", appArt)
	if err != nil || !strings.Contains(out, "app weather 2.0") {
		t.Fatalf("pack --app: %v\n%s", err, out)
	}
	checkArtifact(t, appArt, keys, "app weather 2.0")
	if st, err := os.Stat(appArt); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the artifact: %v %v, want mode 0644 (signed, not secret: copied around)", st, err)
	}

	binArt := filepath.Join(dir, "tether.tether")
	bin := tethertest.Binary(t)
	out, err = certsRun(t, "pack", "--binary", bin, "--version", "v9.9.9", "--key", filepath.Join(dir, "update.key"), "-o", binArt)
	if err != nil {
		t.Fatalf("pack --binary: %v\n%s", err, out)
	}
	checkArtifact(t, binArt, keys, "binary tether v9.9.9 for "+runtime.GOOS+"/"+runtime.GOARCH)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pack", "--version", "1", "--key", "k", "-o", "x"}, "want one of --app DIR or --binary PATH"},
		{[]string{"pack", "--app", app, "--version", "1", "--key", "k", "-o", "x"}, "want --name"},
		{[]string{"pack", "--binary", bin, "--arch", "mipsle", "--version", "1", "--key", filepath.Join(dir, "update.key"), "-o", binArt}, "ELF header says"},
		{[]string{"pack", "--app", app, "--name", "../x", "--version", "1", "--key", filepath.Join(dir, "update.key"), "-o", appArt}, "manifest: name"},
		{[]string{"keys", "init", "--dir", dir}, "never replaced"},
	} {
		out, err := certsRun(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v\n%s; want an error holding %q", tt.args, err, out, tt.want)
		}
		var ue *cli.UsageError
		if strings.HasPrefix(tt.want, "want") && !errors.As(err, &ue) {
			t.Errorf("%v: %T, want a usage error", tt.args, err)
		}
	}
}

func checkArtifact(t *testing.T, path string, keys *artifact.Keyring, want string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _, err := artifact.Verify(f, keys, io.Discard)
	if err != nil || m.String() != want {
		t.Fatalf("Verify(%s) = %v, %v; want %s", path, m, err, want)
	}
}
