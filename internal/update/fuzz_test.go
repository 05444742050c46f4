package update

import (
	"strings"
	"testing"

	"tether/internal/wire"
)

// FuzzDecodeUpdate: CMD update's arguments, from any page through the hub:
// a request decoded by the device's own decoder either is refused with an
// error naming CMD update, or is a job with a 64-hex-digit SHA-256, a
// size within bounds and a short rollout name.
func FuzzDecodeUpdate(f *testing.F) {
	f.Add(`["CMD", "update", ["` + strings.Repeat("ab", 32) + `", 4096, "r-1"]]`)
	f.Add(`["CMD", "update", ["` + strings.Repeat("AB", 32) + `", 4096]]`)
	f.Add(`["CMD", "update", ["x", 1e300, null]]`)
	f.Add(`["CMD", "update", ["` + strings.Repeat("0", 64) + `", 1.5]]`)
	f.Fuzz(func(t *testing.T, msg string) {
		req, err := wire.Decode([]byte(msg))
		if err != nil {
			return
		}
		j, err := decodeUpdate(req)
		if err != nil {
			if !strings.Contains(err.Error(), "update") && !strings.Contains(err.Error(), "argument") {
				t.Fatalf("error %q does not say what it is about", err)
			}
			return
		}
		if len(j.SHA256) != 64 || strings.ToLower(j.SHA256) != j.SHA256 || j.Size < 1 || j.Size > maxArtifact || len(j.Rollout) > 64 || j.Phase != Downloading {
			t.Fatalf("accepted %+v from %s", j, msg)
		}
	})
}
