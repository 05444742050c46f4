package config

import (
	"encoding/json"
	"fmt"
	"strings"
)

// decodeApp decodes app.json's top-level object onto a. Every top-level
// object is kept raw in a.Sections, so apps added by users read their own.
func (d *decoder) decodeApp(top *node, a *App) {
	defaults := a.Demo // before the file's: every process entry starts from them
	a.Sections = map[string]json.RawMessage{}
	for _, m := range top.members {
		if m.val.kind == kindObject {
			a.Sections[m.key] = d.raw(m.val)
		}
	}
	named := false
	fs := appFields(a)
	fs["app"] = func(d *decoder, n *node, path string) {
		named = true
		str(&a.Name, appName)(d, n, path)
	}
	d.members(top, "", fs, func(m member, path string) {
		if m.val.kind != kindObject { // objects are apps' sections
			d.unknown(m, path, fs)
		}
	})
	if top.kind != kindObject {
		return
	}
	if _, ws := d.at["demo.websocket"]; !ws {
		a.Demo.WebSocket = a.Demo.HTTP // one listener serves both
	}
	d.decodeProcesses(top, a, defaults)
	d.checkListenAddrs(a)
	if !named {
		d.errorf(top.start, "app", "missing: want the name of the app to run")
		return
	}
	d.checkAppSection(top, a.Name)
	d.checkKnownApp(top, a.Name)
	d.checkProgram(a)
}

// raw returns a copy of n's text.
func (d *decoder) raw(n *node) json.RawMessage {
	return json.RawMessage(strings.Clone(string(d.src.data[n.start:n.end])))
}

// checkAppSection checks that the app named holds an object of settings;
// a name with no section is allowed (registered apps such as recovery need
// none) with a warning.
func (d *decoder) checkAppSection(top *node, name string) {
	if name == "" {
		return
	}
	off := d.at["app"]
	for _, m := range top.members {
		if m.key != name {
			continue
		}
		if m.val.kind != kindObject && m.key != "echoserver" && m.key != "demo" {
			d.errorf(off, "app", "%q names a key holding %s, want an object of the app's settings", name, describe(m.val))
		}
		return
	}
	d.warnf(off, "app", "no %q section in app.json: fine for a registered app that needs no settings", name)
}

// appFields are app.json's known keys.
func appFields(a *App) fields {
	es, demo := &a.EchoServer, &a.Demo
	return fields{
		"echoserver": obj(fields{
			"listen_addr": str(&es.ListenAddr, listenIP),
			"listen_port": integer(&es.ListenPort, listenPort),
			"max_message": integer64(&es.MaxMessage, maxMessage),
			"tls":         tlsField(&es.TLS),
		}),
		"demo": obj(servedFields(demo)),
		"auth": authField(&a.Auth),
	}
}

// authField decodes app.json's "auth": "on" or true, "strict", "off" or
// false.
func authField(p *string) field {
	return func(d *decoder, n *node, path string) {
		switch {
		case n.kind == kindBool && n.b, n.kind == kindString && n.str == AuthOn:
			*p = AuthOn
		case n.kind == kindBool, n.kind == kindString && n.str == AuthOff:
			*p = AuthOff
		case n.kind == kindString && n.str == AuthStrict:
			*p = AuthStrict
		default:
			d.errorf(n.start, path, `want "on", "strict" or "off" (or true or false): whether the device's page, command API and recovery ask for the device password `+
				`(strict: of its own local processes too); got %s`, describe(n))
		}
	}
}

// servedFields are the keys of an app tether serves: the demo's section
// and every process entry.
func servedFields(s *Served) fields {
	return fields{
		"http":        addrField(&s.HTTP),
		"websocket":   addrField(&s.WebSocket),
		"home":        homeField(&s.Home),
		"routes":      routesField(&s.Routes),
		"origins":     originsField(&s.Origins),
		"max_message": integer64(&s.MaxMessage, maxMessage),
		"tls":         tlsField(&s.TLS),
		"drivers":     driversField(&s.Drivers),
	}
}

func addrField(a *Addr) field {
	return obj(fields{
		"ip":   str(&a.IP, listenIP),
		"port": integer(&a.Port, listenPort),
	})
}

func homeField(h *Home) field {
	return obj(fields{
		"ip":       str(&h.IP, host),
		"port":     integer(&h.Port, port),
		"host":     str(&h.Host, host),
		"tls":      boolean(&h.TLS),
		"ca":       str(&h.CA, anyString),
		"cert":     str(&h.Cert, anyString),
		"key":      str(&h.Key, anyString),
		"token":    str(&h.Token, token),
		"disabled": boolean(&h.Disabled),
	})
}

func tlsField(p **TLS) field {
	return func(d *decoder, n *node, path string) {
		t := &TLS{}
		d.object(n, path, fields{
			"enabled": boolean(&t.Enabled),
			"cert":    str(&t.Cert, anyString),
			"key":     str(&t.Key, anyString),
		})
		*p = t
	}
}

// ReservedPrefix is where the device serves its own pages on every port
// (package devauth: login, logout, password, reset); routes under it are
// never reached.
const ReservedPrefix = "/tether/"

// routesField decodes {"/path": "file", ...}: paths start with "/", files
// stay inside the device root.
func routesField(p *map[string]string) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindObject {
			d.errorf(n.start, path, "want an object of URL path → file, got %s", describe(n))
			return
		}
		routes := map[string]string{}
		fs := fields{}
		for _, m := range n.members {
			if !strings.HasPrefix(m.key, "/") {
				d.errorf(m.keyOff, joinPath(path, m.key), "want a URL path starting with \"/\"")
				continue
			}
			if strings.HasPrefix(m.key, ReservedPrefix) {
				d.warnf(m.keyOff, joinPath(path, m.key), "never served: paths under %s are the device's own (its login and password pages)", ReservedPrefix)
			}
			fs[m.key] = func(d *decoder, v *node, path string) {
				if file, ok := d.text(v, path, localFile); ok && file != "" {
					routes[m.key] = file
				}
			}
		}
		d.members(n, path, fs, func(member, string) {})
		*p = routes
	}
}

// originsField decodes a list of origin host patterns.
func originsField(p *[]string) field { return strList(p, origin, 0) }

// strList decodes an array of strings each checked by rule, at most max of
// them (0: any number); empty strings (placeholders) are left out.
func strList(p *[]string, rule stringRule, max int) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindArray || max > 0 && len(n.elems) > max {
			most := ""
			if max > 0 {
				most = fmt.Sprintf("at most %d of ", max)
			}
			d.errorf(n.start, path, "want an array of %s%s, got %s", most, rule.want, describe(n))
			return
		}
		out := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			if s, ok := d.text(e, fmt.Sprintf("%s[%d]", path, i), rule); ok && s != "" {
				out = append(out, s)
			}
		}
		*p = out
	}
}
