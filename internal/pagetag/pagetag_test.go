package pagetag

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	long := strings.Repeat("x", MaxID)
	tests := []struct {
		in         string
		id, msg    string
		tagged, ok bool
	}{
		{`{"info":"x"}`, "", `{"info":"x"}`, false, true},
		{"", "", "", false, true},
		{"@hub-a/1f/7\n[\"GET\",\"config\",[]]", "hub-a/1f/7", `["GET","config",[]]`, true, true},
		{"@p\n", "p", "", true, true},
		{"@\n{}", "", "{}", true, true},             // no page: the hub could not name one
		{"@" + long + "\nm", long, "m", true, true}, // the longest id
		{"@" + long + "y\nm", "", "", true, false},  // one byte too long
		{"@no newline", "", "", true, false},
		{"@two words\nm", "", "", true, false},
		{"@tab\t\nm", "", "", true, false},
		{"@caf\xc3\xa9\nm", "", "", true, false},
		{"@a\n@b\nm", "a", "@b\nm", true, true}, // only the first tag is the address
	}
	for _, tt := range tests {
		id, msg, tagged, ok := Split([]byte(tt.in))
		if id != tt.id || string(msg) != tt.msg || tagged != tt.tagged || ok != tt.ok {
			t.Errorf("Split(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", tt.in, id, msg, tagged, ok, tt.id, tt.msg, tt.tagged, tt.ok)
		}
	}
}

func TestTagSplitsBack(t *testing.T) {
	for _, id := range []string{"", "a", "hub/abc/12", strings.Repeat("~", MaxID)} {
		for _, msg := range []string{"", "x", "@y\nz", "\x00\xff"} {
			got, m, tagged, ok := Split(Tag(id, []byte(msg)))
			if got != id || string(m) != msg || !tagged || !ok {
				t.Errorf("Split(Tag(%q, %q)) = %q, %q, %v, %v", id, msg, got, m, tagged, ok)
			}
		}
	}
}

func TestGone(t *testing.T) {
	if got := string(Gone("hub/1/2")); got != `{"hub/page/gone":"hub/1/2"}` {
		t.Fatalf("Gone = %s", got)
	}
	for in, want := range map[string]string{
		`{"hub/page/gone":"hub/1/2"}`:     "hub/1/2",
		`{ "hub/page/gone" : "p" }`:       "p",
		`{"hub/page/gone":"p","other":1}`: "",
		`{"hub/page/gone":""}`:            "",
		`{"hub/page/gone":5}`:             "",
		`{"hub/page/gone":"two words"}`:   "",
		`["CMD","hub/page/gone",[]]`:      "",
		`{"iam":"Device_1"}`:              "",
		`not json hub/page/gone`:          "",
	} {
		id, ok := ParseGone([]byte(in))
		if id != want || ok != (want != "") {
			t.Errorf("ParseGone(%s) = %q, %v; want %q", in, id, ok, want)
		}
	}
}

// FuzzSplit: whatever a hub or a device sends, Split never panics; a
// message it calls tagged and well formed is exactly Tag(id, msg), and
// any other message is left as it is.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "@", "@\n", "@a\nb", "{}", "@a b\nc", "@" + strings.Repeat("a", MaxID+1) + "\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, msg, tagged, ok := Split(data)
		switch {
		case !tagged:
			if !ok || id != "" || !bytes.Equal(msg, data) {
				t.Fatalf("untagged %q: %q, %q, %v", data, id, msg, ok)
			}
		case ok:
			if !bytes.Equal(Tag(id, msg), data) || id != "" && !ValidID(id) {
				t.Fatalf("Split(%q) = %q, %q: does not tag back", data, id, msg)
			}
		}
		if g, ok := ParseGone(data); ok && !ValidID(g) {
			t.Fatalf("ParseGone(%q) = %q, an invalid id", data, g)
		}
	})
}
