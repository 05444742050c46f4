package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Driver is one hardware interface an app declares under its "drivers"
// key: {"uart": {"kind": "serial", "port": "/dev/ttyACM0", "baud": 115200}}.
// Which keys apply depends on Kind (docs/HARDWARE.md lists them); a zero
// value means the default given on each field.
type Driver struct {
	// Name is the driver's key in "drivers", the prefix of its messages
	// ("uart/line") and the name requests use ("start_interface [uart]").
	Name string `json:"-"`
	// Kind is "fake" (upper-cases what it is sent) or "serial".
	Kind string `json:"kind"`
	// Start starts the driver when the app starts, as start_interface
	// would; false leaves it stopped until asked.
	Start bool `json:"start,omitempty"`
	// Port is the serial device ("/dev/ttyACM0", "/dev/serial/by-id/…").
	Port string `json:"port,omitempty"`
	// Baud is the line speed; zero means 9600.
	Baud int `json:"baud,omitempty"`
	// DataBits is 5-8; zero means 8.
	DataBits int `json:"data_bits,omitempty"`
	// Parity is "none", "odd", "even", "mark" or "space"; "" means none.
	Parity string `json:"parity,omitempty"`
	// StopBits is 1 or 2; zero means 1.
	StopBits int `json:"stop_bits,omitempty"`
	// LineEnding is what send_message adds to each line: "lf", "crlf",
	// "cr" or "none"; "" means lf.
	LineEnding string `json:"line_ending,omitempty"`
	// ReadOnly refuses send_message: the port is only listened to.
	ReadOnly bool `json:"read_only,omitempty"`
	// Mode is "lines" (text lines as <name>/line) or the binary-safe "hex"
	// and "base64" (chunks of bytes as <name>/data); "" means lines.
	Mode string `json:"mode,omitempty"`
	// MaxLine is the longest line (or binary chunk) passed on, in bytes;
	// longer lines are cut there. Zero means 4096.
	MaxLine int `json:"max_line,omitempty"`
	// MaxRate is how many lines (or chunks) a second are passed on at
	// most; the rest are dropped and counted. Zero means 100.
	MaxRate int `json:"max_rate,omitempty"`

	at keyPlaces // where each key was given
}

// Problem returns msg as a problem about the driver's key ("port"),
// located where the file gives it (at the driver's entry when the key is
// absent): for checks made after loading, such as config check's look at
// the hardware.
func (d Driver) Problem(key, msg string, warning bool) Problem {
	return d.at.problem(d.Name, key, msg, warning)
}

// Drivers is an app's "drivers" object: its drivers in file order.
type Drivers []Driver

// MarshalJSON writes the drivers as an object of name → settings, in order.
func (ds Drivers) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, d := range ds {
		name, _ := json.Marshal(d.Name)
		settings, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode driver %q: %w", d.Name, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(settings)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object of name → settings, keeping its order. It
// is lenient, for salvaging what it can of a broken file: a value that is
// not an object reads as no drivers, and a driver's keys of the wrong type
// are left zero. Load is the validating reader.
func (ds *Drivers) UnmarshalJSON(data []byte) error {
	var out Drivers
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		*ds = nil
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		var raw json.RawMessage
		if err != nil || dec.Decode(&raw) != nil {
			break
		}
		d := Driver{Name: fmt.Sprint(t)}
		_ = json.Unmarshal(raw, &d) // partial results are the point
		out = append(out, d)
	}
	*ds = out
	return nil
}

// The rules of driver keys; their want texts appear in messages.
var (
	driverName = stringRule{want: "a driver name: 1-64 letters, digits, '.', '_' or '-'", ok: isName}
	driverKind = oneOf("the driver's kind", "fake", "serial")
	portPath   = stringRule{
		want: `the serial device's path ("/dev/ttyACM0", "/dev/serial/by-id/…")`,
		ok:   func(s string) bool { return strings.HasPrefix(s, "/") && !strings.ContainsRune(s, 0) && len(s) < 4096 },
	}
	parity     = oneOf("a parity", "none", "odd", "even", "mark", "space")
	lineEnding = oneOf("a line ending", "lf", "crlf", "cr", "none")
	portMode   = oneOf("a mode", "lines", "hex", "base64")
	baud       = intRule{want: "a baud rate 50-4000000 (9600, 115200, …)", min: 50, max: 4_000_000}
	dataBits   = intRule{want: "data bits 5-8", min: 5, max: 8}
	stopBits   = intRule{want: "stop bits 1 or 2", min: 1, max: 2}
	maxLine    = intRule{want: "a length in bytes, at most 16384 (0 for the default, 4096)", min: 0, max: 16384}
	maxRate    = intRule{want: "lines a second, at most 100000 (0 for the default, 100)", min: 0, max: 100_000}
)

// oneOf is a string rule taking only the values given.
func oneOf(what string, values ...string) stringRule {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return stringRule{
		want: what + ": " + strings.Join(quoted, ", "),
		ok:   func(s string) bool { return slices.Contains(values, s) },
	}
}

// StandardBauds are the rates every serial port takes; others need a port
// that supports custom rates.
var StandardBauds = []int{50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600,
	19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000,
	1500000, 2000000, 2500000, 3000000, 3500000, 4000000}

// driversField decodes an app's "drivers": {name: {"kind": …, …}, …}.
func driversField(p *Drivers) field {
	return func(d *decoder, n *node, path string) {
		if n.kind != kindObject {
			d.errorf(n.start, path, `want an object of driver name → settings ({"uart": {"kind": "serial", …}}), got %s`, describe(n))
			return
		}
		var out Drivers
		fs := fields{}
		for _, m := range n.members {
			fs[m.key] = func(d *decoder, v *node, path string) {
				if !driverName.ok(m.key) {
					d.errorf(m.keyOff, path, "want %s", driverName.want)
					return
				}
				if drv, ok := d.driver(v, path, m.key); ok {
					out = append(out, drv)
				}
			}
		}
		d.members(n, path, fs, nil)
		d.checkPorts(out)
		*p = out
	}
}

// driver decodes one driver's settings; its kind picks the keys it takes.
func (d *decoder) driver(n *node, path, name string) (Driver, bool) {
	drv := Driver{Name: name, at: keyPlaces{"": d.src.problem(n.start, path, "")}}
	if n.kind != kindObject {
		d.errorf(n.start, path, "want an object of the driver's settings, got %s", describe(n))
		return drv, false
	}
	kind := n.member("kind")
	if kind == nil {
		d.errorf(n.start, joinPath(path, "kind"), "missing: want %s", driverKind.want)
		return drv, false
	}
	if k, ok := d.text(kind, joinPath(path, "kind"), driverKind); !ok || k == "" {
		return drv, false
	}
	drv.Kind = kind.str
	fs := fields{"kind": func(*decoder, *node, string) {}, "start": boolean(&drv.Start)}
	if drv.Kind == "serial" {
		maps.Copy(fs, serialFields(&drv))
	}
	before := len(d.problems)
	d.object(n, path, fs)
	for _, m := range n.members {
		drv.at[m.key] = d.src.problem(m.val.start, joinPath(path, m.key), "")
	}
	if drv.Kind == "serial" {
		d.checkSerial(n, path, drv)
	}
	return drv, !HasErrors(d.problems[before:])
}

// serialFields are the keys of a driver of kind "serial".
func serialFields(drv *Driver) fields {
	return fields{
		"port":        str(&drv.Port, portPath),
		"baud":        integer(&drv.Baud, baud),
		"data_bits":   integer(&drv.DataBits, dataBits),
		"parity":      str(&drv.Parity, parity),
		"stop_bits":   integer(&drv.StopBits, stopBits),
		"line_ending": str(&drv.LineEnding, lineEnding),
		"read_only":   boolean(&drv.ReadOnly),
		"mode":        str(&drv.Mode, portMode),
		"max_line":    integer(&drv.MaxLine, maxLine),
		"max_rate":    integer(&drv.MaxRate, maxRate),
	}
}

// checkSerial checks what the keys cannot alone: a port is required, and a
// rate outside the standard ones works only on some ports.
func (d *decoder) checkSerial(n *node, path string, drv Driver) {
	if n.member("port") == nil {
		d.errorf(n.start, joinPath(path, "port"), "missing: want %s", portPath.want)
	}
	if drv.Baud != 0 && !slices.Contains(StandardBauds, drv.Baud) {
		d.warnf(d.at[joinPath(path, "baud")], joinPath(path, "baud"),
			"%d is not a standard rate: the port must support custom rates (standard: …, 57600, 115200, 230400, …)", drv.Baud)
	}
}

// checkPorts reports two drivers on one port: the second could never open it.
func (d *decoder) checkPorts(ds Drivers) {
	owner := map[string]string{}
	for _, drv := range ds {
		if drv.Port == "" {
			continue
		}
		if first, dup := owner[drv.Port]; dup {
			p := drv.Problem("port", fmt.Sprintf("%q is also driver %q's port: one driver per port", drv.Port, first), false)
			d.problems = append(d.problems, p)
			continue
		}
		owner[drv.Port] = drv.Name
	}
}

// member returns the value of n's first member called key, or nil.
func (n *node) member(key string) *node {
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}
