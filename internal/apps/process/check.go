package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tether/internal/config"
)

// scriptExts are the endings of exec[1] taken for a script an interpreter
// runs ("python3", "apps/weather/main.py"), which must then exist.
var scriptExts = []string{".py", ".sh", ".js", ".mjs", ".rb", ".pl", ".lua", ".php", ".tcl"}

// Check looks at a process app's program on this machine, without running
// it: exec[0] must exist and may be run; a script's interpreter (its "#!"
// line) must exist; a script given to an interpreter (exec[1] ending in
// .py, .sh, ...) must exist. Paths relative to the device root are not
// looked at when root is "" (a file checked on its own). It is
// config.Machine.Program for apps.ConfigChecks.
func Check(root string, p *config.Process) []config.Problem {
	if len(p.Exec) == 0 {
		return nil
	}
	if root == "" && isRelative(p.Exec[0]) {
		return nil
	}
	path, err := resolve(root, p)
	if err != nil {
		return []config.Problem{p.Problem("exec[0]", err.Error(), false)}
	}
	if err := checkInterpreter(path, p); err != nil {
		return []config.Problem{p.Problem("exec[0]", err.Error(), false)}
	}
	if len(p.Exec) > 1 && root != "" && isScript(p.Exec[1]) {
		script := p.Exec[1]
		if !filepath.IsAbs(script) {
			script = filepath.Join(root, script)
		}
		if fi, err := os.Stat(script); err != nil || fi.IsDir() {
			return []config.Problem{p.Problem("exec[1]", fmt.Sprintf("no script %s in the device root (%s runs it from the root)", p.Exec[1], p.Exec[0]), false)}
		}
	}
	return nil
}

// isRelative reports whether a program name is a path relative to the
// device root ("apps/run.sh"), not a name looked up on PATH ("python3").
func isRelative(name string) bool {
	return strings.Contains(name, "/") && !filepath.IsAbs(name)
}

func isScript(arg string) bool {
	if strings.HasPrefix(arg, "-") {
		return false
	}
	for _, ext := range scriptExts {
		if strings.HasSuffix(arg, ext) {
			return true
		}
	}
	return false
}

// resolve returns the path of a process app's program: exec[0] holding a
// "/" is a file, relative to the device root unless absolute; a bare name
// is looked up on PATH (the entry's env PATH if it sets one, else
// tether's).
func resolve(root string, p *config.Process) (string, error) {
	name := p.Exec[0]
	if strings.Contains(name, "/") {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, name)
		}
		return path, executable(path, name)
	}
	dirs := os.Getenv("PATH")
	if v, ok := p.Env["PATH"]; ok {
		dirs = v
	}
	for _, dir := range filepath.SplitList(dirs) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		if executable(path, name) == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("program %q not found on PATH (%s): install it, or give its path", name, dirs)
}

// executable reports why path (named name in app.json) cannot be run.
func executable(path, name string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("program %s not found (%s)", name, path)
	case err != nil:
		return fmt.Errorf("program %s: %w", name, err)
	case fi.IsDir():
		return fmt.Errorf("program %s is a folder, want a file to run", name)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("program %s may not be run: chmod +x it, or give its interpreter first ([\"python3\", %q])", name, name)
	}
	return nil
}

// checkInterpreter checks that the kernel can run path: a binary (ELF),
// or a script whose "#!" line names an interpreter that exists
// ("#!/usr/bin/env python3": env, and python3 on PATH), without a
// carriage return after it.
func checkInterpreter(path string, p *config.Process) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // executable said it exists; an unreadable binary is the kernel's to run
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.Read(head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("\x7fELF")) {
		return nil // a binary, whose loader the kernel finds
	}
	if !bytes.HasPrefix(head, []byte("#!")) {
		return fmt.Errorf("program %s is neither a binary nor a script starting with a #! line (the kernel cannot run it): "+
			"add one (#!/bin/sh), or give its interpreter first ([\"sh\", %q])", p.Exec[0], p.Exec[0])
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	if bytes.HasSuffix(line, []byte("\r")) {
		return fmt.Errorf("program %s: its #! line ends in a carriage return (\\r), so the kernel looks for an interpreter named with it: "+
			"the file has Windows line endings; convert it (dos2unix %s, or sed -i 's/\\r$//' %s)", p.Exec[0], p.Exec[0], p.Exec[0])
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return fmt.Errorf("program %s: its #! line names no interpreter", p.Exec[0])
	}
	if err := executable(fields[0], fields[0]); err != nil {
		return fmt.Errorf("program %s: its interpreter (#! line): %w", p.Exec[0], err)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 && !strings.HasPrefix(fields[1], "-") {
		q := &config.Process{Exec: fields[1:2], Env: p.Env}
		if _, err := resolve("", q); err != nil {
			return fmt.Errorf("program %s: its interpreter (#! line): %w", p.Exec[0], err)
		}
	}
	return nil
}
