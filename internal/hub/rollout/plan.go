package rollout

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"tether/internal/deviceid"
)

// The states of a rollout.
const (
	Running = "running"
	Paused  = "paused"
	Done    = "done"
	Aborted = "aborted"
)

// The states of one device in a rollout: Pending (not sent yet), Sent
// (sent, not heard of), then what the device's update/state says:
// downloading, staged, trial, and the final committed, rolled_back,
// refused.
const (
	Pending    = "pending"
	Sent       = "sent"
	Committed  = "committed"
	RolledBack = "rolled_back"
	Refused    = "refused"
)

// Rollout is one artifact rolled out to a list of devices.
type Rollout struct {
	ID       string   `json:"id"`
	Artifact Artifact `json:"artifact"`
	// Devices is the list, frozen at the start, in the order they go:
	// the canary first.
	Devices     []string `json:"devices"`
	Canary      int      `json:"canary"`       // devices in the canary
	Wave        int      `json:"wave"`         // devices in each wave after it
	MaxFailures int      `json:"max_failures"` // failures that pause it
	// Selected says how the devices were chosen ("select site=berlin").
	Selected string    `json:"selected"`
	By       string    `json:"by,omitempty"` // who started it
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"` // why it paused or ended
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Forgiven are the failures counted before the last resume: the
	// threshold counts those after.
	Forgiven int `json:"forgiven"`
	// CanaryForgiven is set by a resume: a failed canary no longer holds
	// the waves back.
	CanaryForgiven bool               `json:"canary_forgiven"`
	Results        map[string]*Result `json:"results"`
}

// Result is one device's part in a rollout.
type Result struct {
	Wave    int       `json:"wave"` // 0 is the canary
	State   string    `json:"state"`
	Reason  string    `json:"reason,omitempty"`
	Sent    time.Time `json:"sent,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Final reports whether a device's state is an end.
func Final(state string) bool {
	return state == Committed || state == RolledBack || state == Refused
}

func failed(state string) bool { return state == RolledBack || state == Refused }

// Spec is what starts a rollout (POST /api/rollouts).
type Spec struct {
	Artifact string   `json:"artifact"` // its SHA-256
	Devices  []string `json:"devices"`  // these ids
	Select   []string `json:"select"`   // or every device with all these labels
	// Canary is how many devices go first, alone; zero means 1.
	Canary int `json:"canary"`
	// Wave is how many devices go together after the canary; zero means a
	// quarter of the rest (at least 1).
	Wave int `json:"wave"`
	// MaxFailures is how many failed devices pause the rollout; zero
	// means 1 (the first failure pauses it).
	MaxFailures int    `json:"max_failures"`
	By          string `json:"-"`
}

// plan makes a rollout of spec from the devices known now: the list is
// frozen here. Online devices go first, so the canary is one that can
// answer; then by id.
func (m *Manager) plan(spec Spec, a Artifact) (*Rollout, error) {
	ids, selected, err := m.choose(spec)
	if err != nil {
		return nil, err
	}
	online := map[string]bool{}
	for _, id := range ids {
		online[id] = m.opts.Devices.Online(id)
	}
	slices.SortStableFunc(ids, func(a, b string) int {
		if online[a] != online[b] {
			if online[a] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	canary := min(cmp.Or(spec.Canary, 1), len(ids))
	wave := spec.Wave
	if wave <= 0 {
		wave = max(1, (len(ids)-canary+3)/4)
	}
	now := time.Now().UTC()
	r := &Rollout{ID: newID(now), Artifact: a, Devices: ids, Canary: canary, Wave: wave,
		MaxFailures: cmp.Or(spec.MaxFailures, 1), Selected: selected, By: spec.By,
		State: Running, Created: now, Updated: now, Results: map[string]*Result{}}
	for i, id := range ids {
		r.Results[id] = &Result{Wave: r.waveOf(i), State: Pending}
	}
	return r, nil
}

// choose returns the devices spec names, and how they were chosen.
func (m *Manager) choose(spec Spec) ([]string, string, error) {
	if (len(spec.Devices) == 0) == (len(spec.Select) == 0) {
		return nil, "", bad("want devices or select (labels), one of them")
	}
	if len(spec.Devices) > 0 {
		seen := map[string]bool{}
		var ids []string
		for _, id := range spec.Devices {
			if err := deviceid.Check(id); err != nil {
				return nil, "", bad("device %q: %v", id, err)
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) == 1 {
			return ids, "1 device by id", nil
		}
		return ids, fmt.Sprintf("%d devices by id", len(ids)), nil
	}
	var ids []string
	for _, d := range m.opts.Devices.Known() {
		if hasAll(d.Labels, spec.Select) {
			ids = append(ids, d.ID)
		}
	}
	what := "select " + strings.Join(spec.Select, ", ")
	if len(ids) == 0 {
		return nil, "", bad("no device the hub knows has the labels %s", strings.Join(spec.Select, ", "))
	}
	return ids, what, nil
}

func hasAll(labels, want []string) bool {
	for _, w := range want {
		if !slices.Contains(labels, w) {
			return false
		}
	}
	return true
}

// waveOf is the wave of the device at index i of the list.
func (r *Rollout) waveOf(i int) int {
	if i < r.Canary {
		return 0
	}
	return 1 + (i-r.Canary)/max(r.Wave, 1)
}

// Waves is how many waves the rollout has, the canary counted.
func (r *Rollout) Waves() int {
	if len(r.Devices) == 0 {
		return 0
	}
	return r.waveOf(len(r.Devices)-1) + 1
}

// open is the last wave devices may be sent the update in: a wave opens
// once every device of the waves before it has ended, or is offline and
// not sent yet (it gets the update when it comes back). The canary must
// have ended, and well, for wave 1 to open, whatever the threshold.
func (r *Rollout) open(online func(string) bool) int {
	for w := 0; w < r.Waves(); w++ {
		for _, id := range r.Devices {
			res := r.Results[id]
			if res.Wave != w {
				continue
			}
			if w == 0 && failed(res.State) && !r.CanaryForgiven {
				return 0
			}
			if !Final(res.State) && !(w > 0 && res.State == Pending && !online(id)) {
				return w
			}
		}
	}
	return r.Waves() - 1
}

// Counts are a rollout's devices by state.
type Counts map[string]int

// counts counts r's devices by state.
func (r *Rollout) counts() Counts {
	c := Counts{}
	for _, res := range r.Results {
		c[res.State]++
	}
	return c
}

// failures is how many devices failed.
func (r *Rollout) failures() int {
	n := 0
	for _, res := range r.Results {
		if failed(res.State) {
			n++
		}
	}
	return n
}

// newID names a rollout: r-<time>-<random>.
func newID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "r-" + now.Format("20060102-150405") + "-" + hex.EncodeToString(b)
}
