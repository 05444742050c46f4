package callhome

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"tether/internal/certs"
	"tether/internal/config"
)

// FromConfig builds Options from the home of the app app.json names (its
// own entry's for a process app, else demo.home: config.App.ServedBy) and
// network.json's device.iam: ws://home.ip:home.port/<iam>, as the seed called home, or
// wss:// when home.tls is set, trusting home.ca and presenting home.cert and
// home.key (files relative to the device root), with home.token sent as
// "Authorization: Bearer <token>". home.host, when set, is dialled instead
// of home.ip.
//
// ok is false when calling home is off: home.disabled is set, or there is no
// host or port to call (the seed's file leaves home.ip empty until filled
// in). The error reports unusable settings (an empty device id, TLS files
// that do not load).
func FromConfig(cfg *config.Config) (opts Options, ok bool, err error) {
	section, s := cfg.App.ServedBy()
	return FromServed(cfg, section, s)
}

// FromServed is FromConfig for the served settings s of app.json's
// section (named in errors: "call home: weather.home: ...").
func FromServed(cfg *config.Config, section string, s config.Served) (opts Options, ok bool, err error) {
	h := s.Home
	host := h.Host
	if host == "" {
		host = h.IP
	}
	if h.Disabled || host == "" || h.Port == 0 {
		return Options{}, false, nil
	}
	iam := cfg.Network.Device.IAm
	if iam == "" {
		return Options{}, false, fmt.Errorf("call home: network.json device.iam: want the device id for the URL, got %q", iam)
	}
	scheme := "ws"
	if h.TLS {
		scheme = "wss"
	}
	opts.URL = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(h.Port)) + "/" + url.PathEscape(iam)
	if h.TLS {
		opts.TLS, err = certs.ClientTLS(rooted(cfg.Root, h.CA), rooted(cfg.Root, h.Cert), rooted(cfg.Root, h.Key))
		if err != nil {
			return Options{}, false, fmt.Errorf("call home: %s.home: %w", section, err)
		}
	}
	if h.Token != "" {
		opts.Header = http.Header{"Authorization": {"Bearer " + strings.TrimSpace(h.Token)}}
	}
	if mm := s.MaxMessage; mm > 0 {
		opts.ReadLimit = mm
	}
	return opts, true, nil
}

// rooted makes a relative file name relative to the device root.
func rooted(root, name string) string {
	if name == "" || filepath.IsAbs(name) || root == "" {
		return name
	}
	return filepath.Join(root, name)
}
