package relaylog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tether/internal/redact"
)

// FuzzWriteLine checks the message log against whatever a device or page
// sends: each message is exactly one line of JSON (no payload can start a
// second line or break the line's JSON), no longer than the payload in
// base64 plus its fields, and the line gives the payload back byte for
// byte (text, or base64 when that is shorter or the payload is binary or
// not UTF-8), unless it says secrets were masked.
func FuzzWriteLine(f *testing.F) {
	f.Add("Device_1", []byte(`{"a":1}`), false)
	f.Add("d", []byte("line\nbreak\r\n{\"dir\":\"forged\"}"), false)
	f.Add("d", []byte("\xff\xfe"), false)
	f.Add("d\n", []byte("<script>\u2028"), false)
	f.Add("d", []byte{0, 1, 2}, true)
	f.Add("d", []byte("\x01\x02\x03\x04\x05\x06 mostly control"), false)
	f.Add("d", []byte(`{"wifi/sta/pass": "hunter2"}`), false)
	f.Add("", []byte(nil), false)
	dir := f.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, device string, data []byte, binary bool) {
		path := filepath.Join(dir, "relay.log")
		os.Remove(path)
		l, err := Open(Options{Path: path, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		err = l.Write(Entry{Time: now, Dir: PageToDevice, Device: device, Binary: binary, Data: data})
		if cerr := l.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(b, []byte("\n")) != 1 || b[len(b)-1] != '\n' {
			t.Fatalf("payload %q made %q, want one line", data, b)
		}
		var got line
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("line %q: %v", b, err)
		}
		payload := got.Binary
		switch {
		case got.Text != nil:
			payload = []byte(*got.Text)
		case got.Text64 != nil:
			payload = got.Text64
		}
		if max := (len(data)+2)/3*4 + 6*len(device) + 160; len(b) > max {
			t.Fatalf("payload of %d bytes made a line of %d bytes, want at most %d", len(data), len(b), max)
		}
		if (got.Text != nil || got.Text64 != nil) && binary {
			t.Fatal("a binary message logged as text")
		}
		if got.Masked {
			if masked, _ := redact.Message(data); !bytes.Equal(payload, masked) {
				t.Fatalf("logged %q, want %q (masked)", payload, masked)
			}
			return
		}
		if !bytes.Equal(payload, data) && !(len(payload) == 0 && len(data) == 0) {
			t.Fatalf("logged %q, sent %q", payload, data)
		}
	})
}
