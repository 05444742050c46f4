package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"tether/internal/atomicfile"
)

// FileMode is the permission config files are written with: they hold WiFi
// passwords and tokens.
const FileMode os.FileMode = 0o600

// saveMu serialises saves within the process, so the .bak of each is the
// version the save replaced.
var saveMu sync.Mutex

// Save validates data as the file name (NetworkFile or AppFile) and writes
// it atomically into root. An invalid file is refused with an *Error
// locating every problem, and nothing is written; warnings do not stop it.
//
// The version replaced becomes name+".bak" when it was itself valid, so the
// .bak is always the last good version; a broken file is simply replaced.
// Temporary files an earlier crash left behind are removed first.
// See package atomicfile for what holds across a crash or power cut.
func Save(root, name string, data []byte) error {
	return save(root, name, data, Machine{})
}

func save(root, name string, data []byte, m Machine) error {
	if err := asError(m.validateIn(root, name, data)); err != nil {
		return err
	}
	if root == "" {
		return fmt.Errorf("save %s: no device root", name)
	}
	saveMu.Lock()
	defer saveMu.Unlock()
	path := filepath.Join(root, name)
	// Leftovers of a crashed save; failing to clear them is no reason not
	// to save.
	_ = atomicfile.RemoveTemps(path)
	write := atomicfile.Replace
	if current, err := os.ReadFile(path); err == nil && !HasErrors(m.validateIn(root, name, current)) {
		write = atomicfile.WriteFile
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("save %s: %w", name, err)
	}
	if err := write(path, data, FileMode); err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	return nil
}

// SaveNetwork writes n as network.json in root through Save, indented like
// the seed's file with its keys in the seed's order. Keys the file had that
// Network does not know are not kept.
func SaveNetwork(root string, n Network) error {
	data, err := MarshalNetwork(n)
	if err != nil {
		return fmt.Errorf("save %s: %w", NetworkFile, err)
	}
	return Save(root, NetworkFile, data)
}

// MarshalNetwork returns n as network.json's text: four-space indents, keys
// in the seed's order, a final newline.
func MarshalNetwork(n Network) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
