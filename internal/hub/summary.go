package hub

import (
	"cmp"
	"encoding/json"
	"strings"

	"tether/internal/hub/access"
)

// summary is what the dashboard and /api/devices show of a device's
// shadow: the app it runs, its version, whether it is in recovery and
// why, and its system information (the sys/... keys).
type summary struct {
	App            string
	Version        string
	Recovery       bool
	RecoveryReason string
	Sys            map[string]json.RawMessage
	// Labels are the labels the device reports (its "labels" key), the
	// valid ones.
	Labels []string
	// Network is the device's network mode and whether its access point is up.
	NetMode string
	AP      bool
	// Update is what its update/ keys say; nil without them.
	Update *UpdateInfo
}

// UpdateInfo is a device's update as its update/ state keys say it
// (docs/UPDATES.md): its state (downloading, staged, trial, committed,
// rolled_back, refused), what it is and why it ended so.
type UpdateInfo struct {
	State   string `json:"state"`
	Name    string `json:"name,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Version string `json:"version,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// summarize reads a shadow (a JSON object, or nil). A device is in
// recovery when its state says "recovery": true and names no other app
// than "recovery" (older devices name none), so a stale recovery key
// beside the app it now runs never marks it.
func summarize(shadow []byte) summary {
	var s summary
	if len(shadow) == 0 {
		return s
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(shadow, &m) != nil {
		return s
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(m[k], &v)
		return v
	}
	s.App, s.Version = cmp.Or(str("app"), str("sys/app")), cmp.Or(str("version"), str("sys/version"))
	var rec bool
	json.Unmarshal(m["recovery"], &rec)
	s.Recovery = rec && (s.App == "" || s.App == "recovery")
	if s.Recovery {
		s.App = "recovery"
		s.RecoveryReason = str("recovery/reason")
	}
	s.Labels = reportedLabels(m["labels"])
	if st := str("update/state"); st != "" {
		s.Update = &UpdateInfo{State: st, Name: str("update/name"), Kind: str("update/kind"),
			Version: str("update/version"), Reason: str("update/reason")}
	}
	s.NetMode = cmp.Or(str("wifi/mode"), str("net/mode"))
	json.Unmarshal(m["wifi/ap/active"], &s.AP)
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "sys/"); ok && name != "" {
			if s.Sys == nil {
				s.Sys = make(map[string]json.RawMessage)
			}
			s.Sys[name] = v
		}
	}
	return s
}

// naturalCompare orders strings with runs of digits compared as numbers,
// so idle-2 comes before idle-10; equal-looking ids ("a01", "a1") fall
// back to byte order.
func naturalCompare(a, b string) int {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if isDigit(a[i]) && isDigit(b[j]) {
			ei, ej := digitsEnd(a, i), digitsEnd(b, j)
			na, nb := strings.TrimLeft(a[i:ei], "0"), strings.TrimLeft(b[j:ej], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			i, j = ei, ej
			continue
		}
		if c := cmp.Compare(a[i], b[j]); c != 0 {
			return c
		}
		i, j = i+1, j+1
	}
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// reportedLabels reads the labels a device's state reports: a list of
// strings, of which the valid labels are kept (at most 64).
func reportedLabels(raw json.RawMessage) []string {
	var ls []string
	if len(raw) == 0 || json.Unmarshal(raw, &ls) != nil {
		return nil
	}
	out := ls[:0]
	for _, l := range ls {
		if access.CheckLabel(l) == nil && len(out) < 64 {
			out = append(out, l)
		}
	}
	return out
}
