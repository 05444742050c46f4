package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// TestRolloutTwentyDevices rolls an update out to 20 real devices chosen
// by label: the canary alone first, then waves of 5; two devices without
// the signing key refuse it, and at the second failure the rollout
// pauses with the waves after it never sent the update; a device given
// the label meanwhile is not pulled in; resumed, the rest commit, and the
// one that was offline gets it when it comes back.
func TestRolloutTwentyDevices(t *testing.T) {
	if tethertest.Short() {
		t.Skip("20 devices: not in -short")
	}
	r := newUpdRig(t, "3s")
	bin := plainBinary(t)
	pub, _ := os.ReadFile(filepath.Join(r.keys, "update.pub"))
	roots := map[string]string{}
	start := func(id string, withKey bool) *tethertest.Proc {
		root := roots[id]
		if root != "" { // started again: the same device
			return tethertest.StartCmd(t, exec.Command(bin, "device", "--root", root, "--net", "sim", "--update-window", r.window,
				"--recovery-addr", "127.0.0.1:0"))
		}
		root = t.TempDir()
		roots[id] = root
		tethertest.WriteFile(t, filepath.Join(root, "network.json"),
			fmt.Sprintf(`{"device": {"iam": %q, "dev": "test", "labels": ["fleet=test"]}}`, id))
		tethertest.WriteFile(t, filepath.Join(root, "app.json"), fmt.Sprintf(`{"app": "demo",
  "demo": {"http": {"ip": "127.0.0.1", "port": 0}, "home": {"ip": "127.0.0.1", "port": %d}}}`, r.devPort))
		if withKey {
			os.MkdirAll(filepath.Join(root, "keys"), 0o755)
			tethertest.WriteFile(t, filepath.Join(root, "keys", "update.pub"), string(pub))
		}
		return tethertest.StartCmd(t, exec.Command(bin, "device", "--root", root, "--net", "sim", "--update-window", r.window,
			"--recovery-addr", "127.0.0.1:0"))
	}
	var devs []*tethertest.Proc
	for i := 1; i <= 20; i++ {
		devs = append(devs, start(fmt.Sprintf("d%02d", i), i != 5 && i != 9)) // d05 and d09 lack the key
	}
	for _, d := range devs {
		d.WaitOutput("connected to home", 60*time.Second)
	}
	r.waitLabelled(20)
	devs[19].Signal(syscall.SIGTERM) // d20 goes offline: it gets the update when it comes back
	devs[19].Wait(15 * time.Second)
	r.waitOffline("d20")

	art := r.packDemo("2")
	out, code := r.try("push", "--hub", "http://"+r.page, "--select", "fleet=test", "--canary", "1", "--wave", "5",
		"--max-failures", "2", "--wait", "--wait-for", "4m", art)
	t.Logf("tether push --wait (exit %d):\n%s", code, out)
	if code != 1 || !strings.Contains(out, "paused") {
		t.Fatalf("tether push --wait: exit %d, want 1 with the rollout paused", code)
	}
	late := start("d21", true) // labelled like the rest, after the rollout started
	late.WaitOutput("connected to home", 60*time.Second)

	ro := r.rollout("")
	if ro.State != "paused" || !strings.Contains(ro.Reason, "2 devices failed (the threshold is 2)") {
		t.Fatalf("rollout %s: %s, want paused at the threshold", ro.State, ro.Reason)
	}
	if len(ro.Devices) != 20 || slices.Contains(ro.Devices, "d21") {
		t.Fatalf("rollout devices %v: want the 20 it started with", ro.Devices)
	}
	canary := ro.Devices[0]
	if res := ro.Results[canary]; res.Wave != 0 || res.State != "committed" {
		t.Fatalf("canary %s: %+v, want wave 0 committed", canary, res)
	}
	for _, id := range ro.Devices[1:] {
		res := ro.Results[id]
		if res.Wave > 0 && !res.Sent.IsZero() && res.Sent.Before(ro.Results[canary].Updated) {
			t.Errorf("%s (wave %d) was sent the update at %v, before the canary committed at %v", id, res.Wave, res.Sent, ro.Results[canary].Updated)
		}
		if res.Wave >= 3 && res.State != "pending" {
			t.Errorf("%s (wave %d) is %s: the waves after the pause must not be sent it", id, res.Wave, res.State)
		}
	}
	for _, id := range []string{"d05", "d09"} {
		if res := ro.Results[id]; res.State != "refused" || !strings.Contains(res.Reason, "no trusted keys") {
			t.Errorf("%s: %+v, want refused for want of a key", id, res)
		}
	}

	out = r.run("rollout", "resume", "--hub", "http://"+r.page, ro.ID)
	t.Logf("tether rollout resume:\n%s", out)
	deadline := time.Now().Add(3 * time.Minute)
	for ended := 0; ended < 19 && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		ro, ended = r.rollout(ro.ID), 0
		for _, res := range ro.Results {
			if res.State == "committed" || res.State == "refused" {
				ended++
			}
		}
	}
	if ro.State != "running" || ro.Results["d20"].State != "pending" {
		t.Fatalf("with d20 offline: %s, d20 %+v; want running, d20 pending", ro.State, ro.Results["d20"])
	}
	start("d20", true).WaitOutput("connected to home", 60*time.Second)
	for ro.State != "done" && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		ro = r.rollout(ro.ID)
	}
	committed := 0
	for _, res := range ro.Results {
		if res.State == "committed" {
			committed++
		}
	}
	if ro.State != "done" || committed != 18 {
		t.Fatalf("after resume: %s (%s), %d committed; want done with 18 committed", ro.State, ro.Reason, committed)
	}
	t.Logf("%s", r.run("rollout", "show", "--hub", "http://"+r.page, ro.ID))
}

// packDemo packs an app artifact for the demo app (its folder is not
// used by the demo: what is tried is the device staying up and on its hub).
func (r *updRig) packDemo(version string) string {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "demo")
	os.MkdirAll(dir, 0o755)
	tethertest.WriteFile(r.t, filepath.Join(dir, "VERSION"), version)
	out := filepath.Join(r.t.TempDir(), "demo-"+version+".tether")
	r.run("pack", "--app", dir, "--name", "demo", "--version", version, "--key", filepath.Join(r.keys, "update.key"), "-o", out)
	return out
}

// waitLabelled waits for the hub to know n devices carrying fleet=test.
func (r *updRig) waitLabelled(n int) {
	r.t.Helper()
	end := time.Now().Add(60 * time.Second)
	got := 0
	for time.Now().Before(end) {
		var ds []struct {
			Labels []string `json:"labels"`
		}
		r.api("/api/devices", &ds)
		got = 0
		for _, d := range ds {
			if slices.Contains(d.Labels, "fleet=test") {
				got++
			}
		}
		if got == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("the hub knows %d devices labelled fleet=test, want %d", got, n)
}

// rolloutView is what the test reads of /api/rollouts.
type rolloutView struct {
	ID      string   `json:"id"`
	State   string   `json:"state"`
	Reason  string   `json:"reason"`
	Devices []string `json:"devices"`
	Results map[string]struct {
		Wave    int       `json:"wave"`
		State   string    `json:"state"`
		Reason  string    `json:"reason"`
		Sent    time.Time `json:"sent"`
		Updated time.Time `json:"updated"`
	} `json:"results"`
}

// rollout reads the rollout id, or the newest one for "".
func (r *updRig) rollout(id string) rolloutView {
	r.t.Helper()
	if id != "" {
		var ro rolloutView
		r.api("/api/rollouts/"+id, &ro)
		return ro
	}
	var all []rolloutView
	r.api("/api/rollouts", &all)
	if len(all) == 0 {
		r.t.Fatal("no rollout")
	}
	return all[0]
}

// TestRolloutsPageChromium: a rollout whose canary fails (a device
// without the signing key) pauses; the dashboard's Rollouts page shows
// it, with each device's state and reason, and its Resume button sends
// the update to the rest; the device list says c1's refusal and why. A
// rollout aborted with tether rollout abort sends nothing more.
func TestRolloutsPageChromium(t *testing.T) {
	r := newUpdRig(t, "3s")
	bin := plainBinary(t)
	pub, _ := os.ReadFile(filepath.Join(r.keys, "update.pub"))
	for i, id := range []string{"c1", "c2", "c3"} {
		root := t.TempDir()
		tethertest.WriteFile(t, filepath.Join(root, "network.json"), fmt.Sprintf(`{"device": {"iam": %q, "labels": ["fleet=page"]}}`, id))
		tethertest.WriteFile(t, filepath.Join(root, "app.json"), fmt.Sprintf(`{"app": "demo",
  "demo": {"http": {"ip": "127.0.0.1", "port": 0}, "home": {"ip": "127.0.0.1", "port": %d}}}`, r.devPort))
		if i > 0 { // c1, the canary, lacks the key
			os.MkdirAll(filepath.Join(root, "keys"), 0o755)
			tethertest.WriteFile(t, filepath.Join(root, "keys", "update.pub"), string(pub))
		}
		tethertest.StartCmd(t, exec.Command(bin, "device", "--root", root, "--net", "sim", "--update-window", r.window,
			"--recovery-addr", "127.0.0.1:0")).WaitOutput("connected to home", 60*time.Second)
	}
	aborted := r.push2("--device", "c2", "--device", "c3", "--wave", "1", "--canary", "1", r.packDemo("2"))
	out := r.run("rollout", "abort", "--hub", "http://"+r.page, aborted)
	if !strings.Contains(out, "aborted") {
		t.Fatalf("tether rollout abort: %s", out)
	}
	id := r.push2("--device", "c1", "--device", "c2", "--device", "c3", r.packDemo("3"))
	shots := filepath.Join(t.TempDir(), "rollouts")
	out = tethertest.Browser(t, "rollouts.mjs", "http://"+r.page+"/", shots, id, "c2", "c1")
	t.Log(out)
	if ro := r.rollout(id); ro.State != "done" || ro.Results["c2"].State != "committed" || ro.Results["c1"].State != "refused" {
		t.Fatalf("after Resume: %+v", ro)
	}
	tethertest.KeepScreenshot(t, shots+"-paused.png", "hub-rollouts.png")
}

// push2 runs tether push with args and returns the rollout's id.
func (r *updRig) push2(args ...string) string {
	r.t.Helper()
	out := r.run(append([]string{"push", "--hub", "http://" + r.page}, args...)...)
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "r-") {
			return strings.TrimSuffix(f, ":")
		}
	}
	r.t.Fatalf("tether push named no rollout:\n%s", out)
	return ""
}

// waitOffline waits for the hub to see the device id gone.
func (r *updRig) waitOffline(id string) {
	r.t.Helper()
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		var d struct {
			Online bool `json:"online"`
		}
		r.api("/api/devices/"+id, &d)
		if !d.Online {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("the hub still sees %s online", id)
}
