package nm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeScript is a stand-in nmcli: it logs its argument vector (each
// argument in brackets, one call a line) to calls.log beside itself, then
// prints the canned answer whose argument vector matches exactly. Any
// other vector fails with exit status 2.
const fakeScript = `#!/bin/sh
dir=$(dirname "$0")
key=""
for a in "$@"; do key="$key[$a]"; done
printf '%s\n' "$key" >> "$dir/calls.log"
n=0
while [ -e "$dir/resp.$n.args" ]; do
	if [ "$(cat "$dir/resp.$n.args")" = "$key" ]; then
		cat "$dir/resp.$n.out"
		cat "$dir/resp.$n.err" >&2
		exit "$(cat "$dir/resp.$n.rc")"
	fi
	n=$((n+1))
done
echo "fake nmcli: unexpected arguments: $key" >&2
exit 2
`

// fakeNM is a fake nmcli in a temp folder.
type fakeNM struct {
	t    *testing.T
	dir  string
	resp int
}

func newFake(t *testing.T) *fakeNM {
	t.Helper()
	f := &fakeNM{t: t, dir: t.TempDir()}
	if err := os.WriteFile(f.path(), []byte(fakeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeNM) path() string { return filepath.Join(f.dir, "nmcli") }

// vector writes an argument vector the way the script logs it.
func vector(args ...string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString("[" + a + "]")
	}
	return b.String()
}

// on makes the fake answer args with stdout out and exit status rc
// (stderr gets errText).
func (f *fakeNM) on(args []string, out string, rc int, errText string) {
	f.t.Helper()
	files := map[string]string{"args": vector(args...), "out": out, "rc": fmt.Sprint(rc), "err": errText}
	for ext, text := range files {
		p := filepath.Join(f.dir, fmt.Sprintf("resp.%d.%s", f.resp, ext))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	f.resp++
}

// calls returns the argument vectors the fake received, in order.
func (f *fakeNM) calls() []string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}
