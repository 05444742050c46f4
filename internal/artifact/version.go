package artifact

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrTooOld: the artifact needs a newer tether than the device runs.
var ErrTooOld = errors.New("needs a newer tether")

// CheckMinTether reports whether tether version have may install m
// (m.MinTether, compared as vMAJOR.MINOR.PATCH; what follows a '-' or '+'
// is not compared). A version that does not read so (a "dev" build) may
// install anything: known is false then, for the caller to say so.
func CheckMinTether(m *Manifest, have string) (known bool, err error) {
	if m.MinTether == "" {
		return true, nil
	}
	want, ok := parseVersion(m.MinTether)
	if !ok {
		return false, fmt.Errorf("manifest: min_tether %q: want a version like v0.4.0", clip(m.MinTether))
	}
	got, ok := parseVersion(have)
	if !ok {
		return false, nil
	}
	for i := range got {
		if got[i] != want[i] {
			if got[i] < want[i] {
				return true, fmt.Errorf("%w: %s or later, this device runs %s", ErrTooOld, m.MinTether, have)
			}
			return true, nil
		}
	}
	return true, nil
}

// parseVersion reads "v1.2.3" (the v and the patch optional).
func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.HasPrefix(p, "+") {
			return out, false
		}
		out[i] = n
	}
	return out, true
}
