package natsbroker

import "testing"

func TestTokenRoundTrip(t *testing.T) {
	tests := []struct{ id, token string }{
		{"dev1", "dev1"},
		{"Device_1-a", "Device_1-a"},
		{"dev.1", "dev%2E1"},
		{"a*b>c", "a%2Ab%3Ec"},
		{"sp ace\ttab", "sp%20ace%09tab"},
		{"100%", "100%25"},
		{"é", "%C3%A9"},
		{"", "%"},
	}
	s := newSubjects("tether")
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := encodeToken(tt.id); got != tt.token {
				t.Fatalf("encodeToken(%q) = %q, want %q", tt.id, got, tt.token)
			}
			if got, ok := decodeToken(tt.token); !ok || got != tt.id {
				t.Fatalf("decodeToken(%q) = %q, %v, want %q", tt.token, got, ok, tt.id)
			}
			for _, c := range []struct {
				subj    string
				in, bin bool
			}{
				{s.in(tt.id, 't'), true, false},
				{s.in(tt.id, 'b'), true, true},
				{s.out(tt.id, 't'), false, false},
				{s.out(tt.id, 'b'), false, true},
			} {
				id, in, bin, ok := s.parseDev(c.subj)
				if !ok || id != tt.id || in != c.in || bin != c.bin {
					t.Errorf("parseDev(%q) = %q, in %v, binary %v, ok %v; want %q, %v, %v", c.subj, id, in, bin, ok, tt.id, c.in, c.bin)
				}
			}
		})
	}
}

func TestParseDevRejects(t *testing.T) {
	s := newSubjects("tether")
	for _, subj := range []string{"tether.presence", "tether.dev.x.up.t", "tether.dev.%4.in.t", "other.dev.x.in.t", "tether.dev..in"} {
		if id, _, _, ok := s.parseDev(subj); ok {
			t.Errorf("parseDev(%q) = %q, ok; want not ok", subj, id)
		}
	}
}
