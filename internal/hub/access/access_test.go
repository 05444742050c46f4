package access

import (
	"strings"
	"testing"
)

func TestGrantsOn(t *testing.T) {
	g, err := Compile([]Grant{
		{Devices: []string{"Device_1"}, Verbs: []string{"drive"}},
		{Devices: []string{"kitchen-*"}, Verbs: []string{"view"}},
		{Devices: []string{"label:floor2"}, Verbs: []string{"view", "admin"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		labels []string
		want   Verb
	}{
		{"Device_1", nil, Drive},
		{"Device_2", nil, None},
		{"kitchen-3", nil, View},
		{"kitchen", nil, None},
		{"Device_2", []string{"floor1", "floor2"}, Admin},
		{"kitchen-3", []string{"floor2"}, Admin},
		{"Device_1", []string{"floor22"}, Drive},
	}
	for _, tt := range tests {
		if got := g.On(tt.id, tt.labels); got != tt.want {
			t.Errorf("On(%q, %v) = %v, want %v", tt.id, tt.labels, got, tt.want)
		}
	}
	if g.Everywhere() != None {
		t.Errorf("Everywhere = %v, want none", g.Everywhere())
	}
	if g.Most() != Admin || (Grants{}).Most() != None {
		t.Errorf("Most = %v, %v; want admin (on label:floor2), none", g.Most(), (Grants{}).Most())
	}
	if Everything.On("any", nil) != Admin || Everything.Everywhere() != Admin {
		t.Error("Everything does not allow everything")
	}
	if (Grants{}).On("any", nil) != None {
		t.Error("no grants allow something")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		g    []Grant
		want string
	}{
		{[]Grant{{Verbs: []string{"view"}}}, "[0].devices: empty"},
		{[]Grant{{Devices: []string{"*"}}}, "[0].verbs: empty"},
		{[]Grant{{Devices: []string{"*"}, Verbs: []string{"read"}}}, `[0].verbs[0]: unknown verb "read"`},
		{[]Grant{{Devices: []string{"*"}, Verbs: []string{"view"}}, {Devices: []string{"a/b"}, Verbs: []string{"view"}}}, "[1].devices[0]: device id"},
		{[]Grant{{Devices: []string{"[a-"}, Verbs: []string{"view"}}}, "[0].devices[0]: pattern"},
		{[]Grant{{Devices: []string{"label:"}, Verbs: []string{"view"}}}, "[0].devices[0]: selector \"label:\""},
		{[]Grant{{Devices: []string{"label:a b"}, Verbs: []string{"view"}}}, "has ' ' at byte 2"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.g)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%v) = %v, want an error holding %q", tt.g, err, tt.want)
		}
	}
}

func TestNeeded(t *testing.T) {
	tests := []struct {
		binary bool
		msg    string
		want   Verb
		what   string
	}{
		{false, `["GET", "wifi", []]`, Drive, "GET wifi"},
		{false, `["CMD", "send_message", ["hi"]]`, Drive, "CMD send_message"},
		{false, `["CMD","restart",[]]`, Admin, "CMD restart"},
		{false, `["CMD", "rest\u0061rt", []]`, Admin, "CMD restart"},
		{false, `["GET", "config", []]`, Admin, "GET config"},
		{false, `["CMD", "apply_config", [{}]]`, Admin, "CMD apply_config"},
		{false, `["CMD", "save_config", ["app.json", "{}"]]`, Admin, "CMD save_config"},
		{false, `["GET", "status", []]`, Admin, "GET status"},
		{false, `["CMD", "log_subscribe", ["info"]]`, Admin, "CMD log_subscribe"},
		{false, `["CMD", "store_new_sta", ["x", "y"]]`, Admin, "CMD store_new_sta"},
		{false, `["CMD", "update_commit", []]`, Admin, "CMD update_commit"},
		{false, `["CMD", "admin_wipe", []]`, Admin, "CMD admin_wipe"},
		{false, `["CMD", "enroll", ["tether://enroll?code=X"]]`, Admin, "CMD enroll"},
		{false, `{"restart": true}`, Admin, "a message that is not a command"},
		{false, `not json`, Admin, "a message that is not a command"},
		{true, `["GET", "wifi", []]`, Admin, "a binary message"},
		{false, `["GET", "` + strings.Repeat("x", 200) + `", []]`, Drive, "GET " + strings.Repeat("x", 64) + "..."},
	}
	for _, tt := range tests {
		got := Needed(tt.binary, []byte(tt.msg))
		if got.Verb != tt.want || got.What != tt.what {
			t.Errorf("Needed(%v, %q) = %v %q, want %v %q", tt.binary, tt.msg, got.Verb, got.What, tt.want, tt.what)
		}
	}
}

// FuzzNeeded checks that no message needs less than Drive, and that one
// the device's decoder reads as an operator item needs Admin.
func FuzzNeeded(f *testing.F) {
	for _, s := range []string{`["GET", "wifi", []]`, `["CMD", "restart", []]`, `[]`, `"x"`, "\xff"} {
		f.Add(false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		n := Needed(binary, data)
		if n.Verb < Drive || n.What == "" {
			t.Fatalf("Needed(%q) = %v %q", data, n.Verb, n.What)
		}
		if len(n.What) > 4+maxWhat+3 {
			t.Fatalf("What of %d bytes", len(n.What))
		}
	})
}
