package backends_test

import (
	"strings"
	"testing"

	"tether/internal/netif/backends"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name, want, wantErr string
	}{
		{"", "host", ""},
		{"host", "host", ""},
		{"sim", "sim", ""},
		{"nm", "nm", ""},
		{"wifi", "", `got "wifi", want one of host, nm, sim`},
		{"SIM", "", `got "SIM"`},
	}
	for _, tt := range tests {
		b, err := backends.Open(tt.name, backends.Options{})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q): got %v, want error containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || b.Name() != tt.want {
			t.Errorf("Open(%q): got %v, %v; want backend %q", tt.name, b, err, tt.want)
		}
	}
}
