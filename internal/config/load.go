package config

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

//go:embed defaults/network.json defaults/app.json
var defaults embed.FS

// DefaultFile returns the embedded default contents of name (NetworkFile or
// AppFile), or nil for another name.
func DefaultFile(name string) []byte {
	data, err := defaults.ReadFile("defaults/" + name)
	if err != nil {
		return nil
	}
	return data
}

// Default returns the embedded defaults: the demo app serving its page and
// command API on 0.0.0.0:8080, echoserver on 0.0.0.0:7777, home
// 127.0.0.1:7770, device "Device_1" on the "sim" network with an access
// point "tether-Device_1". Each call returns a fresh Config.
func Default() *Config {
	cfg := &Config{}
	for _, name := range []string{NetworkFile, AppFile} {
		if problems := decodeFile(name, DefaultFile(name), cfg, Machine{}); HasErrors(problems) {
			panic(fmt.Sprintf("config: embedded %s: %v", name, &Error{problems}))
		}
	}
	return cfg
}

// rootDefaults returns the defaults for a device root: Default without the
// settings that must not be shared by every device, which then fall to the
// device to choose: the network backend ("" leaves it to --net) and the
// access point's name and password (netif names it after the device and
// makes a password of its own).
func rootDefaults(root string) *Config {
	cfg := Default()
	cfg.Root = root
	cfg.Network.Net = ""
	cfg.Network.AP.ESSID, cfg.Network.AP.Password = "", ""
	return cfg
}

// Load reads and validates network.json and app.json in root. A file that
// is missing takes the embedded defaults (and is listed in Config.Missing);
// a key a file leaves out keeps its default (see docs/CONFIG.md). With
// root "", Load returns Default.
//
// The problems are every problem found, warnings included. If any is an
// error, err is an *Error holding them all, and the Config holds what could
// be read, with defaults for the rest, so that recovery can still use it.
func Load(root string) (cfg *Config, problems []Problem, err error) {
	return load(root, Machine{})
}

func load(root string, m Machine) (cfg *Config, problems []Problem, err error) {
	if root == "" {
		return Default(), nil, nil
	}
	cfg = rootDefaults(root)
	if p := checkRoot(root); p != nil {
		return cfg, []Problem{*p}, &Error{[]Problem{*p}}
	}
	for _, name := range []string{NetworkFile, AppFile} {
		data, p := readFile(root, name)
		switch {
		case p != nil:
			problems = append(problems, *p)
		case data == nil:
			cfg.Missing = append(cfg.Missing, name)
		default:
			problems = append(problems, decodeFile(name, data, cfg, m)...)
		}
	}
	return cfg, problems, asError(problems)
}

// checkRoot reports a root that is not a readable folder.
func checkRoot(root string) *Problem {
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Problem{File: root, Msg: "no such folder"}
	case err != nil:
		return &Problem{File: root, Msg: err.Error()}
	case fi.Mode().IsRegular():
		msg := "is a file, not a folder: want the device root, the folder holding network.json and app.json"
		if b := filepath.Base(root); b == NetworkFile || b == AppFile {
			msg += " (here " + filepath.Dir(root) + ")"
		}
		return &Problem{File: root, Msg: msg}
	case !fi.IsDir():
		return &Problem{File: root, Msg: "is not a folder: want the device root, the folder holding network.json and app.json"}
	}
	return nil
}

// readFile reads root/name, returning nil data for a missing file and a
// problem for one that cannot be read.
func readFile(root, name string) ([]byte, *Problem) {
	f, err := os.Open(filepath.Join(root, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil {
		defer f.Close()
		var data []byte
		data, err = io.ReadAll(io.LimitReader(f, maxFileSize+1))
		if err == nil {
			return data, nil
		}
	}
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err
	}
	return nil, &Problem{File: name, Msg: "read: " + err.Error()}
}

// decodeFile decodes data as the file name onto cfg and returns its
// problems, with m's checks.
func decodeFile(name string, data []byte, cfg *Config, m Machine) []Problem {
	src := &source{file: name, data: data}
	top, p := parse(src)
	if p != nil {
		return []Problem{*p}
	}
	d := newDecoder(src, m, cfg.Root)
	switch name {
	case NetworkFile:
		d.decodeNetwork(top, &cfg.Network)
	case AppFile:
		d.decodeApp(top, &cfg.App)
	default:
		return []Problem{unknownFile(name)}
	}
	slices.SortStableFunc(d.problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return d.problems
}

func unknownFile(name string) Problem {
	return Problem{File: name, Msg: fmt.Sprintf("unknown config file, want %s or %s", NetworkFile, AppFile)}
}

// Check validates a device root and returns every problem, warnings
// included; unknown keys are warnings.
func Check(root string) []Problem {
	return Machine{}.Check(root)
}

// CheckStrict is Check with unknown keys reported as errors.
func CheckStrict(root string) []Problem {
	return Strict(Check(root))
}

// Validate checks the contents of one file (name is NetworkFile or AppFile)
// and returns its problems, warnings included. It is what Save runs first.
func Validate(name string, data []byte) []Problem {
	return Machine{}.Validate(name, data)
}
