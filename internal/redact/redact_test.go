package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMessage(t *testing.T) {
	netFile := `{"device": {"iam": "Device_1"}, "sta": {"ssid": "home", "pass": "wifi-secret"}, "ap": {"password": "<device AP password>"}}`
	fileJSON, _ := json.Marshal(netFile)
	tests := []struct {
		name, in, want string
	}{
		{"no secret", `{"fake_interface/running": true, "iam": "Device_1"}`, ``},
		{"flat secret key", `{"wifi/sta/pass": "hunter2", "wifi/sta/ssid": "home"}`, `{"wifi/sta/pass":"********","wifi/sta/ssid":"home"}`},
		{"nested secret", `{"cfg": {"home": {"token": "t0k", "port": 7770}}}`, `{"cfg":{"home":{"port":7770,"token":"********"}}}`},
		{"empty secret stays", `{"pass": ""}`, ``},
		{"config file in a string", `{"recovery/file/network.json": ` + string(fileJSON) + `}`, "wifi-secret"},
		{"credentials", `["CMD", "store_new_sta", ["home", "hunter2"]]`, `["CMD","store_new_sta",["home","********"]]`},
		{"test credentials", `["CMD","test_new_sta",["home","hunter2"]]`, `["CMD","test_new_sta",["home","********"]]`},
		{"enrollment code", `["CMD", "enroll", ["K7QX-M2PA-9DTR-WJ4H", "wss://hub.example:7770"]]`, `["CMD","enroll",["********","wss://hub.example:7770"]]`},
		{"enrollment URI", `["CMD","enroll",["tether://enroll?code=K7QX-M2PA-9DTR-WJ4H&hub=wss%3A%2F%2Fh%3A7770"]]`, `["CMD","enroll",["********"]]`},
		{"no enrollment code", `["CMD", "enroll", []]`, ``},
		{"save_config", `["CMD", "save_config", ["network.json", ` + string(fileJSON) + `]]`, "wifi-secret"},
		{"private key", `{"x": "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----"}`, `{"x":"********"}`},
		{"not JSON", `pass word token`, ``},
		{"other command", `["CMD", "send_message", ["my password is x"]]`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := Message([]byte(tt.in))
			switch {
			case tt.want == "":
				if changed || string(got) != tt.in {
					t.Errorf("Message(%s) = %s, %v; want it unchanged", tt.in, got, changed)
				}
			case strings.HasPrefix(tt.want, "{") || strings.HasPrefix(tt.want, "["):
				if !changed || string(got) != tt.want {
					t.Errorf("Message(%s) = %s, %v; want %s", tt.in, got, changed, tt.want)
				}
			default: // a secret that must be gone
				if !changed || strings.Contains(string(got), tt.want) || !json.Valid(got) {
					t.Errorf("Message(%s) = %s, %v; want it without %q", tt.in, got, changed, tt.want)
				}
			}
		})
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		key, in, want string // want "" means dropped
	}{
		{"wifi/net/ip", `"10.0.0.2"`, `"10.0.0.2"`},
		{"wifi/sta/pass", `"hunter2"`, ``},
		{"home_token", `"t"`, ``},
		{"Password", `"t"`, ``},
		{"config", `{"sta": {"ssid": "home", "pass": "x"}}`, `{"sta":{"ssid":"home"}}`},
		{"recovery/file/app.json", `"{\"demo\": {\"home\": {\"token\": \"abc\"}}}"`, ``},
		{"cert", `"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"`, ``},
		{"hal/drivers", `[{"name": "uart", "running": true}]`, `[{"name": "uart", "running": true}]`},
	}
	for _, tt := range tests {
		got, keep := Value(tt.key, []byte(tt.in))
		if tt.want == "" && keep || tt.want != "" && (!keep || string(got) != tt.want) {
			t.Errorf("Value(%q, %s) = %s, %v; want %q", tt.key, tt.in, got, keep, tt.want)
		}
	}
}

// FuzzMessage checks that what Message returns holds no unmasked value of
// a secret key at any depth, is JSON when it changed anything, and is
// stable (masking twice changes nothing more).
func FuzzMessage(f *testing.F) {
	for _, s := range []string{`{"pass":"x"}`, `{"a":{"b":[{"token":"t"}]}}`, `["CMD","store_new_sta",["s","p"]]`,
		`{"f":"{\"sta\":{\"pass\":\"p\"}}"}`, `{"k":"-----BEGIN PRIVATE KEY-----"}`, `not json`, `{"x":1}`, `[1,2,3]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, changed := Message(data)
		if !changed {
			return
		}
		if !json.Valid(got) {
			t.Fatalf("Message(%q) = %q, not JSON", data, got)
		}
		v, _ := decode(got)
		checkMasked(t, v)
		if again, changed := Message(got); changed {
			t.Fatalf("masking %q twice changed it again: %q", got, again)
		}
	})
}

func checkMasked(t *testing.T, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if SecretKey(k) && !empty(e) && e != Masked {
				t.Fatalf("secret key %q kept its value %v", k, e)
			}
			checkMasked(t, e)
		}
	case []any:
		for _, e := range v {
			checkMasked(t, e)
		}
	}
}
