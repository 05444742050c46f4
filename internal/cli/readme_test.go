//go:build !tether_device

package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsCommands keeps the docs from rotting: every tether command line
// in the README, the deploy guide and docs/ must name a real subcommand with
// flags it accepts, and every "make X" a real Makefile target. (The commands
// themselves are run by the tests of each subcommand.)
func TestDocsCommands(t *testing.T) {
	files := []string{"../../README.md", "../../deploy/RASPBERRY-PI.md"}
	more, _ := filepath.Glob("../../docs/*.md")
	files = append(files, more...)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		for _, c := range docCommands(t, f) {
			n++
			if target, ok := strings.CutPrefix(c.line, "make "); ok {
				target = strings.Fields(target)[0]
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
					t.Errorf("%s:%d: make target %q is not in the Makefile", f, c.n, target)
				}
				continue
			}
			checkCommand(t, f, c.n, c.line)
		}
	}
	if n < 20 {
		t.Fatalf("found only %d commands in the docs: is the extraction broken?", n)
	}
}

type docLine struct {
	n    int
	line string
}

// docCommands returns the command lines of indented or fenced code blocks.
func docCommands(t *testing.T, path string) []docLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docLine
	fenced := false
	s := bufio.NewScanner(f)
	for i := 1; s.Scan(); i++ {
		raw := s.Text()
		if strings.HasPrefix(strings.TrimSpace(raw), "```") {
			fenced = !fenced
			continue
		}
		if !fenced && !strings.HasPrefix(raw, "    ") {
			continue
		}
		line := strings.TrimSpace(raw)
		line = strings.TrimPrefix(line, "$ ")
		line = strings.TrimPrefix(line, "sudo ")
		line = strings.TrimPrefix(line, "go run ./cmd/")
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		line = strings.TrimSuffix(line, " &") // started in the background: the command is checked
		if strings.HasSuffix(line, `\`) || strings.Contains(line, "|") || strings.Contains(line, "…") {
			continue // continued, piped or elided lines are not checked
		}
		if strings.HasPrefix(line, "tether ") || line == "tether" || strings.HasPrefix(line, "make ") {
			out = append(out, docLine{i, line})
		}
	}
	return out
}

func checkCommand(t *testing.T, file string, n int, line string) {
	t.Helper()
	args := splitWords(strings.TrimPrefix(line, "tether"))
	root := newRootCmd(Stdio{log: &logOptions{}})
	root.InitDefaultVersionFlag()
	cmd, rest, err := root.Find(args)
	if err != nil {
		t.Errorf("%s:%d: %q: %v", file, n, line, err)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s:%d: %q: %v", file, n, line, err)
		return
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			t.Errorf("%s:%d: %q: %v", file, n, line, err)
		}
	}
}

// splitWords splits a shell line on spaces, keeping quoted strings whole.
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
