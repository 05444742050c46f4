package config

import (
	"net/netip"
	"strings"
	"testing"
)

// testMachine runs demo and echoserver and has 127.0.0.1 and 10.0.0.7.
var testMachine = Machine{
	Apps: []string{"demo", "echoserver", "recovery"},
	HasAddr: func(ip netip.Addr) bool {
		return ip.IsUnspecified() || ip.IsLoopback() || ip == netip.MustParseAddr("10.0.0.7")
	},
}

func TestMachineChecks(t *testing.T) {
	tests := []struct {
		name, file, data, want string // want: rendered problems
	}{
		{"known app", AppFile, `{"app": "demo", "demo": {}}`, ""},
		{"unknown app", AppFile, `{"app": "dmeo", "dmeo": {}}`,
			`error: app.json:1:9: app: unknown app "dmeo"; registered: demo, echoserver, recovery` + "\n"},
		{"process app", AppFile, `{"app": "sensor", "sensor": {"exec": ["/usr/bin/sensor"]}}`, ""},
		{"exec not in the app's section", AppFile, `{"app": "sensor", "sensor": {}, "other": {"exec": ["x"]}}`,
			`error: app.json:1:9: app: unknown app "sensor"; registered: demo, echoserver, recovery` + "\n"},
		{"addresses the machine has", AppFile,
			`{"app": "demo", "demo": {"http": {"ip": "10.0.0.7", "port": 80}, "websocket": {"ip": "0.0.0.0", "port": 81}},
 "echoserver": {"listen_addr": "127.0.0.1", "listen_port": 82}}`, ""},
		{"addresses the machine lacks", AppFile,
			`{"app": "demo", "demo": {"http": {"ip": "192.168.1.50", "port": 80}},
 "echoserver": {"listen_addr": "fe80::1", "listen_port": 82}}`,
			"warning: app.json:1:41: demo.http.ip: this machine has no address 192.168.1.50 (not now, at least): the app cannot listen there, and recovery falls back to every interface\n" +
				"warning: app.json:2:32: echoserver.listen_addr: this machine has no address fe80::1 (not now, at least): the app cannot listen there, and recovery falls back to every interface\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(testMachine.Validate(tt.file, []byte(tt.data))); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := render(Validate(tt.file, []byte(tt.data))); strings.Contains(got, "unknown app") || strings.Contains(got, "no address") {
				t.Errorf("the zero Machine checked the machine:\n%s", got)
			}
		})
	}
}

// TestSecretsNotInMessages: a bad password or token is described by its
// length, never shown: messages reach logs, pages and the hub.
func TestSecretsNotInMessages(t *testing.T) {
	for _, tt := range []struct{ file, data string }{
		{NetworkFile, `{"sta": {"ssid": "x", "pass": 123456789}}`},
		{NetworkFile, `{"sta": {"ssid": "x", "pass": "` + strings.Repeat("k", 70) + `"}}`},
		{NetworkFile, `{"ap": {"authmode": 3, "password": "kkkkk"}}`},
		{AppFile, `{"app": "demo", "demo": {"home": {"token": "kkk\u0000kkk"}}}`},
		{AppFile, `{"app": "demo", "demo": {"home": {"token": 123456789}}}`},
	} {
		problems := Validate(tt.file, []byte(tt.data))
		if !HasErrors(problems) {
			t.Errorf("%s: no error", tt.data)
		}
		if got := render(problems); strings.Contains(got, "kkk") || strings.Contains(got, "123456789") {
			t.Errorf("a secret in the message:\n%s", got)
		}
	}
}

func TestLocalAddr(t *testing.T) {
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": true, "::1": true, "0.0.0.0": true, "::": true,
		"192.0.2.1": false, // TEST-NET-1: never assigned
	} {
		if got := LocalAddr(netip.MustParseAddr(ip)); got != want {
			t.Errorf("LocalAddr(%s) = %v, want %v", ip, got, want)
		}
	}
}
