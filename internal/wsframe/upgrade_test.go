package wsframe

import (
	"net/http"
	"testing"
)

func TestIsUpgrade(t *testing.T) {
	for _, tt := range []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", "websocket", true},
		{"keep-alive, upgrade", "WebSocket", true},
		{"Upgrade", " websocket ", true},
		{"", "websocket", false},
		{"keep-alive", "websocket", false},
		{"Upgrade", "h2c", false},
		{"Upgrade", "", false},
	} {
		r := &http.Request{Header: http.Header{}}
		if tt.connection != "" {
			r.Header.Set("Connection", tt.connection)
		}
		if tt.upgrade != "" {
			r.Header.Set("Upgrade", tt.upgrade)
		}
		if got := IsUpgrade(r); got != tt.want {
			t.Errorf("Connection %q, Upgrade %q: got %v, want %v", tt.connection, tt.upgrade, got, tt.want)
		}
	}
}
