package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestDeviceStateShowsVersion runs the demo app in the binary: the state
// object a page gets names tether's own release version.
func TestDeviceStateShowsVersion(t *testing.T) {
	p := freeDevPorts(t)
	root := tethertest.SeedRoot(t, "demo", p.http, p.http, p.home, p.echo)
	startDevice(t, root, p)
	tethertest.WaitPort(t, addr(p.http), 30*time.Second)
	state := firstMessage(t, "ws://"+addr(p.http)+"/")
	if state["version"] != tethertest.Version {
		t.Errorf("state version = %v, want the binary's %q", state["version"], tethertest.Version)
	}
}

// TestDeviceJSONLogKeys runs the device with --log-format json at debug
// level through the demo app (calling a home that is not there, serving a
// page) and through recovery: every line is one JSON object in which no
// key repeats, and the lines of an app's parts say which app and which
// part they come from.
func TestDeviceJSONLogKeys(t *testing.T) {
	for _, app := range []string{"demo", "no-such-app"} {
		t.Run(app, func(t *testing.T) {
			p := freeDevPorts(t)
			root := tethertest.SeedRoot(t, app, p.http, p.http, p.home, p.echo)
			proc := tethertest.Start(t, "--log-format", "json", "--log-level", "debug",
				"device", "--root", root, "--net", "sim", "--recovery-addr", addr(p.recovery))
			url := "ws://" + addr(p.http) + "/"
			if app != "demo" {
				url = "ws://" + addr(p.recovery) + "/"
			}
			proc.WaitOutput(`"component":"callhome"`, 30*time.Second)
			firstMessage(t, url)
			proc.Signal(syscall.SIGTERM)
			if code := proc.Wait(10 * time.Second); code != 0 {
				t.Fatalf("exit code after SIGTERM: %d", code)
			}
			lines := strings.Split(strings.TrimSpace(proc.Output()), "\n")
			for _, line := range lines {
				if dup, err := repeatedKey([]byte(line)); err != nil || dup != "" {
					t.Errorf("log line repeats key %q (%v):\n%s", dup, err, line)
				}
			}
			want := map[string]string{"demo": `"app":"demo","component":"callhome"`, "no-such-app": `"app":"recovery","component":"callhome"`}[app]
			if !strings.Contains(proc.Output(), want) {
				t.Errorf("no call-home line tagged %s in %d lines:\n%s", want, len(lines), proc.Output())
			}
		})
	}
}

// firstMessage dials url and returns the first message, a state object.
func firstMessage(t *testing.T, url string) map[string]any {
	t.Helper()
	c := tethertest.DialWS(t, url, tethertest.WSOptions{Header: tethertest.DeviceAuth()})
	defer c.Close()
	_, msg := c.Read()
	var state map[string]any
	if err := json.Unmarshal([]byte(msg), &state); err != nil {
		t.Fatalf("first message from %s: %q, %v", url, msg, err)
	}
	return state
}

// repeatedKey returns the first key that appears twice in one object of the
// JSON value in data (nested objects each checked on their own), or "".
func repeatedKey(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dup, err := scanValue(dec)
	if dup == "" && err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = fmt.Errorf("more than one JSON value")
		}
	}
	return dup, err
}

// scanValue reads one value from dec and returns a repeated key in it.
func scanValue(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return "", err
			}
			key := k.(string)
			if seen[key] {
				return key, nil
			}
			seen[key] = true
			if dup, err := scanValue(dec); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token()
		return "", err
	case json.Delim('['):
		for dec.More() {
			if dup, err := scanValue(dec); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token()
		return "", err
	}
	return "", nil
}

// TestRepeatedKey checks the checker on lines with and without a repeat.
func TestRepeatedKey(t *testing.T) {
	for line, want := range map[string]string{
		`{"a":1,"b":{"a":2}}`:                    "",
		`{"component":"demo","component":"web"}`: "component",
		`{"a":[{"x":1,"x":2}]}`:                  "x",
	} {
		if got, err := repeatedKey([]byte(line)); got != want || err != nil {
			t.Errorf("repeatedKey(%s) = %q, %v; want %q", line, got, err, want)
		}
	}
}
