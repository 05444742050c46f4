package rollout

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"tether/internal/artifact"
)

// fleet stands in for the hub's devices: each answers CMD update by
// taking the outcome the test gave it, as its state's update/ keys.
type fleet struct {
	mu      sync.Mutex
	online  map[string]bool
	labels  map[string][]string
	outcome map[string]string // what a device ends in when sent the update
	shadow  map[string]map[string]any
	sent    []string
}

func newFleet(n int) *fleet {
	f := &fleet{online: map[string]bool{}, labels: map[string][]string{}, outcome: map[string]string{}, shadow: map[string]map[string]any{}}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("d%02d", i)
		f.online[id], f.outcome[id], f.labels[id] = true, Committed, []string{"site=berlin"}
	}
	return f
}

func (f *fleet) Send(id string, msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.online[id] {
		return fmt.Errorf("device %s is not connected", id)
	}
	var req []any
	json.Unmarshal(msg, &req)
	args := req[2].([]any)
	f.sent = append(f.sent, id)
	f.shadow[id] = map[string]any{"update/sha256": args[0], "update/rollout": args[2], "update/state": f.outcome[id], "update/reason": "because " + f.outcome[id]}
	return nil
}

func (f *fleet) Online(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.online[id]
}

func (f *fleet) Shadow(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shadow[id] == nil {
		return nil
	}
	b, _ := json.Marshal(f.shadow[id])
	return b
}

func (f *fleet) Known() []Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Device
	for id := range f.online {
		out = append(out, Device{ID: id, Labels: f.labels[id]})
	}
	return out
}

func (f *fleet) sentTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func newManager(t *testing.T, dir string, f *fleet) (*Manager, Artifact) {
	t.Helper()
	m, err := New(Options{Dir: dir, Devices: f})
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "main.py"), []byte("print(1)"), 0o644)
	var b bytes.Buffer
	if _, err := artifact.PackApp(&b, app, artifact.PackOptions{Name: "weather", Version: "2", Key: key}); err != nil {
		t.Fatal(err)
	}
	a, err := m.Store().Put(&b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return m, a
}

// ticks runs the engine n times.
func ticks(m *Manager, n int) {
	for range n {
		m.tick()
	}
}

func TestCanaryThenWaves(t *testing.T) {
	f := newFleet(9)
	f.online["d01"] = false // offline: not the canary, gets it when back
	m, a := newManager(t, t.TempDir(), f)
	r, err := m.Start(Spec{Artifact: a.SHA256, Select: []string{"site=berlin"}, Wave: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Devices[0] != "d02" || r.Devices[len(r.Devices)-1] != "d01" || r.Waves() != 3 {
		t.Fatalf("plan: %v, %d waves; want d02 first, d01 (offline) last, 3 waves", r.Devices, r.Waves())
	}
	m.tick()
	if got := f.sentTo(); !slices.Equal(got, []string{"d02"}) {
		t.Fatalf("first tick sent to %v, want the canary d02 alone", got)
	}
	m.tick() // the canary committed: wave 1 (4 devices)
	if got := f.sentTo(); len(got) != 5 {
		t.Fatalf("after the canary: sent to %v, want the canary and wave 1", got)
	}
	ticks(m, 3)
	r, _ = m.Get(r.ID)
	if r.State != Running || r.Results["d01"].State != Pending || r.counts()[Committed] != 8 {
		t.Fatalf("state %s, d01 %s, counts %v: want running, d01 pending (offline), 8 committed", r.State, r.Results["d01"].State, r.counts())
	}
	f.mu.Lock()
	f.online["d01"] = true
	f.labels["d10"], f.online["d10"], f.outcome["d10"] = []string{"site=berlin"}, true, Committed // a new device: not pulled in
	f.mu.Unlock()
	ticks(m, 3)
	r, _ = m.Get(r.ID)
	if r.State != Done || len(r.Devices) != 9 || r.Results["d10"] != nil {
		t.Fatalf("state %s (%s), %d devices: want done with the 9 it started with", r.State, r.Reason, len(r.Devices))
	}
}

func TestThresholdPausesAndResume(t *testing.T) {
	f := newFleet(6)
	f.outcome["d03"], f.outcome["d04"] = RolledBack, Refused
	dir := t.TempDir()
	m, a := newManager(t, dir, f)
	r, err := m.Start(Spec{Devices: []string{"d01", "d02", "d03", "d04", "d05", "d06"}, Artifact: a.SHA256, Wave: 2, MaxFailures: 2})
	if err != nil {
		t.Fatal(err)
	}
	ticks(m, 4)
	r, _ = m.Get(r.ID)
	if r.State != Paused || r.failures() != 2 || r.Results["d06"].State != Pending {
		t.Fatalf("state %s (%s), %d failures, d06 %s: want paused at 2 failures, d06 not sent", r.State, r.Reason, r.failures(), r.Results["d06"].State)
	}
	// A hub restart keeps it paused, with its results.
	m2, err := New(Options{Dir: dir, Devices: f})
	if err != nil {
		t.Fatal(err)
	}
	if r2, _ := m2.Get(r.ID); r2.State != Paused || r2.Results["d03"].State != RolledBack || r2.Results["d03"].Reason != "because rolled_back" {
		t.Fatalf("after a restart: %+v", r2)
	}
	if _, err := m2.Act(r.ID, "resume", "alice"); err != nil {
		t.Fatal(err)
	}
	ticks(m2, 3)
	r, _ = m2.Get(r.ID)
	if r.State != Done || r.counts()[Committed] != 4 {
		t.Fatalf("after resume: %s (%s) %v, want done with 4 committed", r.State, r.Reason, r.counts())
	}
	if _, err := m2.Act(r.ID, "pause", "alice"); err == nil {
		t.Fatal("pause of a rollout done: want a conflict")
	}
}

func TestFailedCanaryPauses(t *testing.T) {
	f := newFleet(4)
	f.outcome["d01"] = RolledBack
	m, a := newManager(t, t.TempDir(), f)
	r, _ := m.Start(Spec{Devices: []string{"d01", "d02", "d03", "d04"}, Artifact: a.SHA256, MaxFailures: 3})
	ticks(m, 4)
	r, _ = m.Get(r.ID)
	if r.State != Paused || len(f.sentTo()) != 1 {
		t.Fatalf("state %s (%s), sent to %v: want paused after the canary alone", r.State, r.Reason, f.sentTo())
	}
	if _, err := m.Act(r.ID, "abort", "bob"); err != nil {
		t.Fatal(err)
	}
	ticks(m, 2)
	if r, _ = m.Get(r.ID); r.State != Aborted || len(f.sentTo()) != 1 {
		t.Fatalf("after abort: %s, sent to %v", r.State, f.sentTo())
	}
}

// TestPauseHoldsTheWaves: an operator's pause of a running rollout sends
// the update to no more devices, whatever ticks pass; resumed, the rest
// go and it ends done.
func TestPauseHoldsTheWaves(t *testing.T) {
	f := newFleet(5)
	m, a := newManager(t, t.TempDir(), f)
	r, err := m.Start(Spec{Devices: []string{"d01", "d02", "d03", "d04", "d05"}, Artifact: a.SHA256, Wave: 2})
	if err != nil {
		t.Fatal(err)
	}
	ticks(m, 1) // the canary is sent it
	if _, err := m.Act(r.ID, "pause", "alice"); err != nil {
		t.Fatal(err)
	}
	ticks(m, 5)
	r, _ = m.Get(r.ID)
	if r.State != Paused || r.Reason != "paused by alice" || !slices.Equal(f.sentTo(), []string{"d01"}) {
		t.Fatalf("paused: %s (%s), sent to %v; want paused by alice, the canary alone sent it", r.State, r.Reason, f.sentTo())
	}
	if r.Results["d01"].State != Committed {
		t.Fatalf("the canary, on it when paused: %s, want its end still recorded", r.Results["d01"].State)
	}
	if _, err := m.Act(r.ID, "resume", "alice"); err != nil {
		t.Fatal(err)
	}
	ticks(m, 4)
	if r, _ = m.Get(r.ID); r.State != Done || len(f.sentTo()) != 5 {
		t.Fatalf("resumed: %s (%s), sent to %v; want done, all 5 sent it", r.State, r.Reason, f.sentTo())
	}
}
