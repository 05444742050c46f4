package hub

import (
	"slices"
	"testing"
)

func TestNaturalCompare(t *testing.T) {
	ids := []string{"idle-10", "idle-2", "b", "idle-1", "idle-100", "a10b2", "a10b10", "idle-", "a9", "idle-02", "Z"}
	slices.SortFunc(ids, naturalCompare)
	want := []string{"Z", "a9", "a10b2", "a10b10", "b", "idle-", "idle-1", "idle-2", "idle-02", "idle-10", "idle-100"}
	if !slices.Equal(ids, want) {
		t.Errorf("got %q\nwant %q", ids, want)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name, shadow string
		recovery     bool
		app, reason  string
		sysKeys      int
	}{
		{"none", ``, false, "", "", 0},
		{"not json", `[1]`, false, "", "", 0},
		{"demo", `{"iam": "d", "app": "demo", "version": "v1", "sys/uptime": 3, "sys/": 1}`, false, "demo", "", 1},
		{"recovery", `{"recovery": true, "recovery/reason": "why", "app": "recovery"}`, true, "recovery", "why", 0},
		{"older recovery, no app", `{"recovery": true, "recovery/reason": "why"}`, true, "recovery", "why", 0},
		{"stale recovery beside the app", `{"recovery": true, "recovery/reason": "why", "app": "demo"}`, false, "demo", "", 0},
		{"recovery false", `{"recovery": false, "app": "demo"}`, false, "demo", "", 0},
		{"sys app", `{"sys/app": "demo", "sys/version": "v2"}`, false, "demo", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize([]byte(tt.shadow))
			if s.Recovery != tt.recovery || s.App != tt.app || s.RecoveryReason != tt.reason || len(s.Sys) != tt.sysKeys {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestSummarizeUpdate(t *testing.T) {
	s := summarize([]byte(`{"update/state": "rolled_back", "update/name": "weather", "update/kind": "app",
		"update/version": "3", "update/reason": "the app failed: exit status 3"}`))
	want := UpdateInfo{State: "rolled_back", Name: "weather", Kind: "app", Version: "3", Reason: "the app failed: exit status 3"}
	if s.Update == nil || *s.Update != want {
		t.Fatalf("Update = %+v, want %+v", s.Update, want)
	}
	if s := summarize([]byte(`{"update/state": ""}`)); s.Update != nil {
		t.Fatalf("no update yet: Update = %+v, want nil", s.Update)
	}
}
