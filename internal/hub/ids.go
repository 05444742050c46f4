package hub

import (
	"errors"
	"fmt"

	"tether/internal/deviceid"
)

// MaxIDLength is the longest device id.
const MaxIDLength = deviceid.MaxLen

// ValidID checks a device id by the one rule every part of tether shares
// (package deviceid): 1 to 64 letters, digits, '_', '-' and '.', not
// starting with '.'.
func ValidID(id string) error {
	if id == "" {
		return errors.New("bad device id: empty, want /<device-id>")
	}
	if err := deviceid.Check(id); err != nil {
		return fmt.Errorf("bad device id: %w", err)
	}
	return nil
}
