package deviceid_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"tether/internal/deviceid"
)

func TestCheck(t *testing.T) {
	valid := []string{
		"Device_1", "d1", "greenhouse-1", "kitchen-sensor.2", "TS001", "a", "pi.", "a..b",
		strings.Repeat("x", 64),
	}
	for _, id := range valid {
		if err := deviceid.Check(id); err != nil {
			t.Errorf("Check(%q) = %v, want nil", id, err)
		}
	}
	invalid := map[string]string{
		"":                       "empty",
		".pi":                    "starts with '.'",
		".":                      "starts with '.'",
		"..":                     "starts with '.'",
		"a b":                    `' ' at byte 2`,
		"a/b":                    `'/' at byte 2`,
		"a\\b":                   `'\\' at byte 2`,
		"a\x00b":                 `'\x00' at byte 2`,
		"Dеvice_1":               "at byte 2", // Cyrillic 'е'
		"\xff":                   `'ÿ' at byte 1`,
		strings.Repeat("x", 65):  "65 characters, want at most 64",
		strings.Repeat("y", 1e4): "10000 characters",
	}
	for id, want := range invalid {
		err := deviceid.Check(id)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%.20q) = %v, want an error containing %q", id, err, want)
			continue
		}
		if !utf8.ValidString(err.Error()) || len(err.Error()) > 250 {
			t.Errorf("Check(%.20q): message %q is not short valid UTF-8", id, err)
		}
	}
}

// FuzzCheck: an accepted id is always safe as one path segment, a file
// name and a log field.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"Device_1", ".hidden", "..", "a/b", "a%2Fb", "Dеvice_1", "\u202eevil", strings.Repeat("x", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := deviceid.Check(id)
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("Check(%q): message is not UTF-8", id)
			}
			return
		}
		if id == "" || len(id) > deviceid.MaxLen || id[0] == '.' || url.PathEscape(id) != id {
			t.Fatalf("Check accepted %q", id)
		}
		for _, r := range id {
			if r >= 0x80 || r == '/' || r == '\\' || r == 0 {
				t.Fatalf("Check accepted %q with rune %q", id, r)
			}
		}
	})
}
