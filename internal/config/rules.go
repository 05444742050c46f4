package config

import (
	"net/netip"
	"path/filepath"
	"strings"

	"tether/internal/deviceid"
)

// The rules each kind of key follows; their want texts appear in messages.
var (
	port       = intRule{want: "a port number 1-65535", min: 1, max: 65535}
	listenPort = intRule{want: "a port number 1-65535, or 0 for any free port", min: 0, max: 65535}
	legacyPort = intRule{want: "a port number 1-65535, or 0 for unset", min: 0, max: 65535}
	authMode   = intRule{want: "an authmode 0-7 (0 open, 3 WPA2-PSK)", min: 0, max: 7}
	maxMessage = intRule{want: "a size in bytes (0 for the default, at most 1 GiB)", min: 0, max: 1 << 30}

	deviceID = stringRule{want: "a device id: " + deviceid.Rule, ok: deviceid.Valid}
	label    = stringRule{want: "a label: " + deviceid.LabelRule, ok: func(s string) bool { return deviceid.CheckLabel(s) == nil }}
	token    = stringRule{
		want:   "a token without CR, LF or other control characters (it is sent in an HTTP header)",
		ok:     func(s string) bool { return !strings.ContainsFunc(s, isControl) },
		secret: true,
	}
	appName = stringRule{want: "the name of the app to run", ok: func(s string) bool { return s != "" }}
	netName = stringRule{
		want: `a network backend: "host", "sim" or "nm" ("" for the command line's --net)`,
		ok:   func(s string) bool { return s == "" || s == "host" || s == "sim" || s == "nm" },
	}
	ssid     = stringRule{want: "an SSID of at most 32 bytes", ok: func(s string) bool { return len(s) <= 32 }}
	wifiPass = stringRule{want: "a WiFi password of at most 64 characters", ok: func(s string) bool { return len(s) <= 64 }, secret: true}
	host     = stringRule{want: "an IP address or host name", ok: isHost}
	listenIP = stringRule{
		want: `an IP address to listen on ("" or "0.0.0.0" for every interface)`,
		ok:   isListenIP,
	}
	localFile = stringRule{
		want: "a file path inside the device root (relative, no \"..\")",
		ok:   func(s string) bool { return filepath.IsLocal(filepath.FromSlash(s)) },
	}
	origin = stringRule{
		want: `an origin host pattern ("example.com", "*.example.com")`,
		ok:   func(s string) bool { return s != "" && !strings.ContainsAny(s, " \t\r\n") },
	}
)

// isName reports whether s can name a driver in state keys
// ("<name>/line") and logs: 1-64 letters, digits, '.', '_' or '-', not
// "." or "..".
func isName(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsFunc(s, func(c rune) bool { return !isAlnum(c) && c != '.' && c != '_' && c != '-' })
}

// isControl reports whether r is a control character, which an HTTP
// header value cannot hold (a tab aside).
func isControl(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }

// isHost reports whether s is empty, an IP address or a host name.
func isHost(s string) bool {
	if s == "" {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return isHostName(s)
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_', none starting or ending with '-'.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// isListenIP reports whether s is "", "localhost" or an IP address.
func isListenIP(s string) bool {
	if s == "" || s == "localhost" {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isAlnum(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isWPAKey reports whether s is a WPA pre-shared key: 8-63 characters,
// or 64 hex digits.
func isWPAKey(s string) bool {
	if len(s) == 64 {
		return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
	}
	return len(s) >= 8 && len(s) <= 63
}
