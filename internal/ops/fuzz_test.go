package ops

import (
	"testing"

	"tether/internal/wire"
)

// FuzzApplyArgs feeds apply_config whatever a client may send as its
// arguments: decoding never panics, and what it accepts names one or two
// known files once each, with a window within its bounds.
func FuzzApplyArgs(f *testing.F) {
	for _, s := range []string{
		`["CMD","apply_config",["app.json","{}"]]`,
		`["CMD","apply_config",["network.json","{}","app.json","{}",60]]`,
		`["CMD","apply_config",["app.json","{}",1e400]]`,
		`["CMD","apply_config",["app.json","{}","app.json","{}"]]`,
		`["CMD","apply_config",[null,{},-5]]`,
		`["CMD","apply_config",["app.json","{}",4.5]]`,
	} {
		f.Add([]byte(s))
	}
	ss := New(Options{}).Session(nil, nil, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := wire.Decode(data)
		if err != nil {
			return
		}
		c, err := ss.decodeChange(req)
		if err != nil {
			return
		}
		if n := len(c.order); n < 1 || n > 2 || len(c.texts) != n {
			t.Fatalf("accepted %d files: %v", n, c.order)
		}
		for _, name := range c.order {
			if name != "network.json" && name != "app.json" {
				t.Fatalf("accepted file %q", name)
			}
		}
		if c.window < minWindow || c.window > maxWindow {
			t.Fatalf("accepted window %v", c.window)
		}
	})
}
