package config

import (
	"errors"
	"fmt"
	"testing"
)

// Describe renders a config error's errors one per line, without its
// warnings, through any wrapping; other errors as their message.
func TestDescribe(t *testing.T) {
	ce := &Error{Problems: []Problem{
		{File: AppFile, Line: 7, Col: 14, Path: "demo.http.port", Msg: `want a port number 1-65535, got "eighty"`},
		{File: NetworkFile, Line: 3, Col: 1, Path: "ap.essid", Msg: "placeholder", Warning: true},
		{File: NetworkFile, Line: 2, Col: 9, Path: "device.iam", Msg: "want a device id"},
	}}
	want := "app.json:7:14: demo.http.port: want a port number 1-65535, got \"eighty\"\nnetwork.json:2:9: device.iam: want a device id"
	for _, tt := range []struct {
		err  error
		want string
	}{
		{ce, want},
		{fmt.Errorf("load config from /root: %w", ce), want},
		{errors.New("unknown app"), "unknown app"},
		{nil, ""},
	} {
		if got := Describe(tt.err); got != tt.want {
			t.Errorf("Describe(%v):\n got %q\nwant %q", tt.err, got, tt.want)
		}
	}
}
