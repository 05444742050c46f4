package rollout

import (
	"encoding/json"
	"testing"
)

// FuzzObserve: whatever a device's shadow holds (a device writes its own
// state), reading its update/ keys never panics, and a shadow that is not
// about the rollout's artifact never changes its result.
func FuzzObserve(f *testing.F) {
	f.Add([]byte(`{"update/sha256": "abc", "update/state": "committed", "update/rollout": "r-1", "update/reason": "ok"}`))
	f.Add([]byte(`{"update/state": 7, "update/sha256": ["x"]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, shadow []byte) {
		s := observe(shadow)
		r := &Rollout{ID: "r-1", Artifact: Artifact{SHA256: "abc"}}
		if s.about(r) && s.sha != "abc" {
			t.Fatalf("%+v is about another artifact", s)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(shadow, &m) != nil && s != (seen{}) {
			t.Fatalf("a shadow that is not an object gave %+v", s)
		}
	})
}
