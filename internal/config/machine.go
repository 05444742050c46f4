package config

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Machine is what the binary and the machine it runs on offer, for the
// checks a file alone cannot settle: which apps exist, which addresses the
// machine has. Its zero value skips those checks; the package-level Load,
// Check, Validate and Save use the zero value. The device, tether config
// check and recovery's save use one filled in (apps.ConfigChecks), so a
// file the device could never use is refused before it is saved.
type Machine struct {
	// Apps lists the apps this binary runs. app.json's "app" naming
	// another is an error listing them. An app whose section holds an
	// "exec" key (a program run as the app) always counts as known. Nil
	// skips the check.
	Apps []string
	// HasAddr reports whether the machine has an IP address. A listen
	// address it lacks is a warning, not an error: boards change addresses
	// (a new DHCP lease), and recovery falls back to every interface. Nil
	// skips the check.
	HasAddr func(netip.Addr) bool
	// Program checks the program of the process app app.json names (that
	// it, or its interpreter, exists and may be run) and returns its
	// problems, located with Process.Problem. root is the device root, ""
	// when a file is validated on its own (program paths relative to the
	// root are then not looked at). Nil skips the check.
	Program func(root string, p *Process) []Problem
}

// Load is the package-level Load with m's checks.
func (m Machine) Load(root string) (cfg *Config, problems []Problem, err error) {
	return load(root, m)
}

// Check is the package-level Check with m's checks.
func (m Machine) Check(root string) []Problem {
	_, problems, _ := m.Load(root)
	return problems
}

// Validate is the package-level Validate with m's checks.
func (m Machine) Validate(name string, data []byte) []Problem {
	return m.validateIn("", name, data)
}

// validateIn validates data as the file name of the device root root.
func (m Machine) validateIn(root, name string, data []byte) []Problem {
	if name != NetworkFile && name != AppFile {
		return []Problem{unknownFile(name)}
	}
	return decodeFile(name, data, rootDefaults(root), m)
}

// Save is the package-level Save with m's checks.
func (m Machine) Save(root, name string, data []byte) error {
	return save(root, name, data, m)
}

// LocalAddr reports whether this machine can listen on ip: an unspecified
// or loopback address, or one of its interfaces' addresses.
func LocalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: no warning
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// checkProgram runs the machine's program check on the process app
// app.json names, if any.
func (d *decoder) checkProgram(a *App) {
	if p := a.Process(); p != nil && d.m.Program != nil && p.Exec != nil {
		d.problems = append(d.problems, d.m.Program(d.root, p)...)
	}
}

// checkKnownApp reports an app name the machine does not run.
func (d *decoder) checkKnownApp(top *node, name string) {
	if d.m.Apps == nil || name == "" || slices.Contains(d.m.Apps, name) || d.hasExec(top, name) {
		return
	}
	d.errorf(d.at["app"], "app", "unknown app %q; registered: %s", name, strings.Join(d.m.Apps, ", "))
}

// hasExec reports whether app.json's section name holds an "exec" key: a
// process app, run by the program it names, known whatever its name.
func (d *decoder) hasExec(top *node, name string) bool {
	for _, m := range top.members {
		if m.key == name && m.val.kind == kindObject {
			return slices.ContainsFunc(m.val.members, func(m member) bool { return m.key == "exec" })
		}
	}
	return false
}

// checkListenAddrs warns about listen addresses the machine lacks.
func (d *decoder) checkListenAddrs(a *App) {
	if d.m.HasAddr == nil {
		return
	}
	ips := map[string]string{
		"demo.http.ip":           a.Demo.HTTP.IP,
		"demo.websocket.ip":      a.Demo.WebSocket.IP,
		"echoserver.listen_addr": a.EchoServer.ListenAddr,
	}
	for name, p := range a.Processes {
		ips[name+".http.ip"], ips[name+".websocket.ip"] = p.HTTP.IP, p.WebSocket.IP
	}
	for path, ip := range ips {
		off, given := d.at[path]
		addr, err := netip.ParseAddr(ip)
		if !given || err != nil || d.m.HasAddr(addr) {
			continue
		}
		d.warnf(off, path, "this machine has no address %s (not now, at least): the app cannot listen there, and recovery falls back to every interface", ip)
	}
}
