package process

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"tether/internal/cmdapi"
	"tether/internal/wire"
)

func TestDecode(t *testing.T) {
	for _, tt := range []struct{ line, err string }{
		{`{"type":"state","state":{"a/b":1}}`, ""},
		{`{"type":"broadcast","msg":{"a/msg":"x"}}`, ""},
		{`{"type":"reply","to":"c1","msg":{"info":"x"}}`, ""},
		{`{"type":"announce","items":[{"kind":"CMD","name":"go","args":[{"name":"n","type":"integer","optional":true}]}],"keys":[{"key":"a/b"}]}`, ""},
		{`{"type":"driver","driver":"uart","op":"send","text":""}`, ""},
		{`{"type":"driver","driver":"uart","op":"start"}`, ""},
		{`{"type":"driver","op":"start"}`, `want "driver"`},
		{`{"type":"driver","driver":"uart","op":"open"}`, `want "op" start, stop or send, got "open"`},
		{`{"type":"driver","driver":"uart","op":"send"}`, `want "text"`},
		{`not json`, "want one JSON object a line"},
		{`[1]`, "want one JSON object a line"},
		{`{"type":`, "invalid JSON"},
		{`{"state":{}}`, `want a "type"`},
		{`{"type":"hello"}`, `unknown type "hello"`},
		{`{"type":"reply","msg":{"a":1}}`, `want "to"`},
		{`{"type":"broadcast","msg":{}}`, `want "msg", a non-empty object`},
		{`{"type":"state"}`, `want "state"`},
		{`{"type":"state","state":{"":1}}`, `want a key without control characters`},
		{`{"type":"state","state":{"a\nb":1}}`, `control characters`},
		{"{\"type\":\"broadcast\",\"msg\":{\"a\":\"\xff\"}}", `want UTF-8`},
		{`{"type":"announce","items":[{"kind":"PUT","name":"x"}]}`, `kind: want "GET" or "CMD"`},
		{`{"type":"announce","items":[{"kind":"GET","name":"a b"}]}`, `name "a b"`},
		{`{"type":"announce","items":[{"kind":"GET","name":"x","args":[{"name":"n","type":"float"}]}]}`, `type "float"`},
		{`{"type":"announce","items":[{"kind":"GET","name":"x","args":[{"name":"a","type":"json","optional":true},{"name":"b","type":"json"}]}]}`, `optional arguments come last`},
		{`{"type":"announce","items":[{"kind":"GET","name":"x"},{"kind":"GET","name":"x"}]}`, `announced twice`},
	} {
		m, err := decode([]byte(tt.line))
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.line, err)
			}
			if m.Type == "announce" && (!m.Items[0].App || m.Items[0].Args == nil) {
				t.Errorf("%s: items not marked the app's: %+v", tt.line, m.Items)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want %q", tt.line, err, tt.err)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	it := cmdapi.Item{Kind: "CMD", Name: "set", Args: []cmdapi.Arg{
		{Name: "n", Type: "integer"}, {Name: "f", Type: "number"}, {Name: "s", Type: "string"},
		{Name: "b", Type: "boolean", Optional: true}, {Name: "j", Type: "json", Optional: true}}}
	for _, tt := range []struct{ args, err string }{
		{`[1, 2.5, "x"]`, ""},
		{`[1, -2e3, "x", true, {"a": [1]}]`, ""},
		{`[1, 2]`, "want 3 to 5 arguments [n f s b? j?], got 2"},
		{`[1, 2, "x", true, null, 6]`, "got 6"},
		{`[1.5, 2, "x"]`, "argument 1 (n): want an integer, got 1.5"},
		{`[1, "2", "x"]`, `argument 2 (f): want a number, got "2"`},
		{`[1, 2, 3]`, "argument 3 (s): want a string, got 3"},
		{`[1, 2, "x", "yes"]`, `argument 4 (b): want a boolean`},
		{`[99999999999999999999, 2, "x"]`, "want an integer"},
	} {
		req, err := wire.Decode([]byte(`["CMD", "set", ` + tt.args + `]`))
		if err != nil {
			t.Fatal(err)
		}
		err = checkArgs(it, req)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: got %v, want %q", tt.args, err, tt.err)
		}
	}
}

// Requests are written with their keys in a fixed order, compact, so that
// a shell script can match them.
func TestRequestLine(t *testing.T) {
	got := string(encodeLine(request{Type: "request", From: "c1", Kind: "CMD", Item: "inc",
		Args: []json.RawMessage{json.RawMessage(` 5 `), json.RawMessage(`{"a": "<b>"}`)}}))
	want := `{"type":"request","from":"c1","kind":"CMD","item":"inc","args":[5,{"a":"<b>"}]}` + "\n"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzDecode: no line a program writes can make decode panic, and what it
// accepts is what the rest of tether can use.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"announce","items":[{"kind":"CMD","name":"go","args":[{"name":"n","type":"integer"}]}],"keys":[{"key":"a"}]}`))
	f.Add([]byte(`{"type":"reply","to":"c1","msg":{"info":"x"}}`))
	f.Add([]byte(`{"type":"state","state":{"a":null,"b":[1,{"c":2}]}}`))
	f.Add([]byte(`{"type":"broadcast","msg":{"x/msg":"\u0000"}}`))
	f.Add([]byte("{\"type\":\"state\",\"state\":{\"\xff\":1}}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := decode(line)
		if err != nil {
			return
		}
		switch m.Type {
		case "announce":
			for _, it := range m.Items {
				if !it.App || it.Args == nil || !isItemName(it.Name) {
					t.Fatalf("accepted item %+v", it)
				}
				req := wire.Request{Kind: it.Kind, Item: it.Name}
				_ = checkArgs(it, req)
			}
		case "reply", "broadcast":
			msg := wire.Message{}
			for k, v := range m.Msg {
				msg[k] = v
			}
			var back map[string]any
			enc := wire.Encode(msg)
			if !utf8.Valid(enc) {
				t.Fatalf("accepted a message that is not UTF-8: %q", line)
			}
			if err := json.Unmarshal(enc, &back); err != nil || len(back) != len(m.Msg) {
				t.Fatalf("accepted a message that does not encode back: %q: %v", line, err)
			}
		case "state":
			for k := range m.State {
				_ = reserved(k)
			}
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}
