package hub

import "fmt"

// MaxIDLength is the longest device id.
const MaxIDLength = 64

// ValidID checks a device id: 1 to 64 characters of letters, digits, '_',
// '-' and '.', not starting with '.'.
func ValidID(id string) error {
	if id == "" {
		return fmt.Errorf("bad device id: empty, want /<device-id>")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("bad device id: %d characters, want at most %d", len(id), MaxIDLength)
	}
	if id[0] == '.' {
		return fmt.Errorf("bad device id %q: starts with '.'", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("bad device id %q: character %q, want letters, digits, '_', '-' or '.'", id, c)
		}
	}
	return nil
}
