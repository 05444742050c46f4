package config

// TEMPORARY: signatures only, replaced by the real implementation.

import "errors"

var errTODO = errors.New("config: not implemented yet")

// Problem is one located problem in a config file.
type Problem struct {
	File    string // "app.json"
	Line    int    // 1-based; 0 when not known
	Col     int    // 1-based; 0 when not known
	Path    string // key path, "demo.http.port"; "" for the whole file
	Msg     string // "want a port number 1-65535, got \"eighty\""
	Warning bool   // an unknown key or similar: reported, not fatal
}

// Error is every problem found loading a device root; it is returned by Load
// when any problem is not a warning.
type Error struct{ Problems []Problem }

func (e *Error) Error() string { return "invalid config" }

// Load reads and validates network.json and app.json in root.
func Load(root string) (*Config, []Problem, error) { return nil, nil, errTODO }

// Default returns the embedded defaults.
func Default() *Config { return &Config{} }

// Check validates a device root and returns every problem, warnings included.
func Check(root string) []Problem { return nil }

// Validate checks the contents of one file (name is NetworkFile or AppFile).
func Validate(name string, data []byte) []Problem { return nil }

// Save validates data as the file name and writes it atomically into root,
// keeping the previous version as name+".bak".
func Save(root, name string, data []byte) error { return errTODO }

// SaveNetwork writes n as network.json in root, atomically, keeping a .bak.
func SaveNetwork(root string, n Network) error { return errTODO }
