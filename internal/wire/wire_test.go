package wire_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"tether/internal/wire"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    wire.Request
		wantErr string // substring; "" means success
	}{
		{in: `["GET", "wifi", []]`, want: wire.Request{Kind: "GET", Item: "wifi", Args: []json.RawMessage{}}},
		{in: `["CMD","send_message",["hello"]]`, want: wire.Request{Kind: "CMD", Item: "send_message", Args: []json.RawMessage{json.RawMessage(`"hello"`)}}},
		{in: ` [ "CMD" , "test_new_sta" , ["a", "b"] ] `, want: wire.Request{Kind: "CMD", Item: "test_new_sta", Args: []json.RawMessage{json.RawMessage(`"a"`), json.RawMessage(`"b"`)}}},
		{in: `not json`, wantErr: "got text that is not JSON"},
		{in: ``, wantErr: "got an empty message"},
		{in: `{}`, wantErr: "got an object"},
		{in: `"GET"`, wantErr: "got a string"},
		{in: `42`, wantErr: "got a number"},
		{in: `null`, wantErr: "got null"},
		{in: `[1,2]`, wantErr: "want 3 elements"},
		{in: `["GET"]`, wantErr: "want 3 elements"},
		{in: `["GET","wifi",[],4]`, wantErr: "want 3 elements"},
		{in: `["PUT","wifi",[]]`, wantErr: `element 1: want "GET" or "CMD", got "\"PUT\""`},
		{in: `["get","wifi",[]]`, wantErr: `element 1`},
		{in: `["GET", 5, "x"]`, wantErr: "element 2: want the item name as a string"},
		{in: `["GET", "", []]`, wantErr: "element 2"},
		{in: `["GET", "wifi", "x"]`, wantErr: "element 3: want the arguments as an array"},
		{in: `["GET", "wifi", null]`, wantErr: "element 3"},
		{in: "\xff\xfe", wantErr: "want UTF-8"},
		{in: "é\x00", wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := wire.Decode([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, wire.ErrBadRequest) {
					t.Fatalf("error %v does not wrap ErrBadRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if got.String() != tt.want.String() {
				t.Fatalf("Decode(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	r, err := wire.Decode([]byte(`["CMD", "test_new_sta", ["net", 5]]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WantArgs("ssid", "pass"); err != nil {
		t.Fatalf("WantArgs: %v", err)
	}
	if err := r.WantArgs("text"); err == nil || !strings.Contains(err.Error(), "want 1 arguments [text], got 2") {
		t.Fatalf("WantArgs(text) = %v", err)
	}
	if s, err := r.StringArg(0, "ssid"); err != nil || s != "net" {
		t.Fatalf("StringArg(0) = %q, %v", s, err)
	}
	if _, err := r.StringArg(1, "pass"); err == nil || !strings.Contains(err.Error(), "argument 2 (pass): want a string, got \"5\"") {
		t.Fatalf("StringArg(1) = %v", err)
	}
	if _, err := r.StringArg(2, "x"); err == nil || !strings.Contains(err.Error(), "missing argument 3") {
		t.Fatalf("StringArg(2) = %v", err)
	}
}

func TestEncode(t *testing.T) {
	got := string(wire.Encode(wire.Message{"wifi/net/ip": "10.0.0.2", "info": "x"}))
	if got != `{"info":"x","wifi/net/ip":"10.0.0.2"}` {
		t.Fatalf("Encode = %s", got)
	}
	bad := string(wire.Encode(wire.Message{"f": func() {}}))
	if !strings.HasPrefix(bad, `{"error":"encode reply:`) {
		t.Fatalf("Encode of an unencodable value = %s", bad)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`["GET","wifi",[]]`, `["CMD","send_message",["hi"]]`, `[1,2]`, `{}`, "\xff", `["GET",5,"x"]`, `[[],[],[]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := wire.Decode(data)
		if err != nil {
			if !errors.Is(err, wire.ErrBadRequest) {
				t.Fatalf("error does not wrap ErrBadRequest: %v", err)
			}
			return
		}
		if r.Kind != wire.Get && r.Kind != wire.Cmd || r.Item == "" || r.Args == nil {
			t.Fatalf("accepted an invalid request %q as %+v", data, r)
		}
		// What was accepted re-encodes and decodes to the same request.
		again, err := wire.Decode([]byte(r.String()))
		if err != nil || again.String() != r.String() {
			t.Fatalf("round trip of %q: %v, %s != %s", data, err, again, r)
		}
	})
}
