package natsbroker

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"tether/internal/hub/broker"
	"tether/internal/hub/broker/natsbroker/natstest"
)

func TestRelayAcrossHubs(t *testing.T) {
	ns := natstest.Start(t)
	a, ra := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b")

	if err := a.Hold(presence("dev.1", "a", 1, time.Now())); err != nil {
		t.Fatal(err)
	}
	ra.expectPresence(t, "dev.1 online on a, locally", online("dev.1", "a"))
	rb.expectPresence(t, "dev.1 online on a, on b", online("dev.1", "a"))
	if err := b.Watch("dev.1"); err != nil {
		t.Fatal(err)
	}
	b.nc.Flush()

	tests := []broker.Message{
		{Device: "dev.1", Data: []byte(`{"k": 1}`)},
		{Device: "dev.1", Binary: true, Data: []byte{0, 1, 2, 0xff}},
		{Device: "dev.1", Data: []byte{}},
	}
	for _, m := range tests {
		if err := b.ToDevice(m); err != nil {
			t.Fatalf("ToDevice from b: %v", err)
		}
		ra.expectMessage(t, ra.toDevice, m)
		if err := a.ToPages(m); err != nil {
			t.Fatalf("ToPages on a: %v", err)
		}
		ra.expectMessage(t, ra.toPages, m) // a's own pages, directly
		rb.expectMessage(t, rb.toPages, m)
	}
	if n := len(ra.toDevice) + len(rb.toDevice); n != 0 {
		t.Fatalf("%d extra messages to the device", n)
	}

	ra.mu.Lock()
	ra.shadows["dev.1"] = []byte(`{"k":1}`)
	ra.mu.Unlock()
	if got := string(b.Shadow("dev.1")); got != `{"k":1}` {
		t.Fatalf("b.Shadow(dev.1) = %q, want a's shadow", got)
	}

	if got := b.Devices(); len(got) != 1 || got[0].Device != "dev.1" || got[0].Hub != "a" {
		t.Fatalf("b.Devices() = %+v, want dev.1 on a", got)
	}
	// Page identity: to a device that has it, the page's id crosses in a
	// header, so does the news that it went, and so does the one page a
	// device's message is for; a device without it gets no header.
	tagged := presence("dev.2", "a", 2, time.Now())
	tagged.Pages = true
	if err := a.Hold(tagged); err != nil {
		t.Fatal(err)
	}
	if p := rb.expectPresence(t, "dev.2 online on a, on b", online("dev.2", "a")); !p.Pages {
		t.Fatalf("b sees dev.2 without page identity: %+v", p)
	}
	if p, _ := b.Lookup("dev.2"); !p.Pages {
		t.Fatalf("b.Lookup(dev.2) = %+v, want it with page identity", p)
	}
	if err := b.Watch("dev.2"); err != nil {
		t.Fatal(err)
	}
	b.nc.Flush()
	for _, m := range []broker.Message{
		{Device: "dev.2", Page: "hub-b/1f2e/7", Data: []byte(`["GET","sys",[]]`)},
		{Device: "dev.2", Page: "hub-b/1f2e/7", Binary: true, Data: []byte{'@', 0}},
		{Device: "dev.2", Page: "hub-b/1f2e/7", PageGone: true},
	} {
		if err := b.ToDevice(m); err != nil {
			t.Fatalf("ToDevice from b: %v", err)
		}
		ra.expectMessage(t, ra.toDevice, m)
	}
	answer := broker.Message{Device: "dev.2", Page: "hub-b/1f2e/7", Data: []byte(`{"sys/uptime":5}`)}
	if err := a.ToPages(answer); err != nil {
		t.Fatal(err)
	}
	ra.expectMessage(t, ra.toPages, answer)
	rb.expectMessage(t, rb.toPages, answer)
	if err := b.ToDevice(broker.Message{Device: "dev.1", Page: "hub-b/1f2e/7", Data: []byte(`["GET","sys",[]]`)}); err != nil {
		t.Fatal(err)
	}
	ra.expectMessage(t, ra.toDevice, broker.Message{Device: "dev.1", Data: []byte(`["GET","sys",[]]`)})
	a.Release(broker.Presence{Device: "dev.1", Hub: "a", Conn: 1, Reason: "closed by the device"})
	p := rb.expectPresence(t, "dev.1 offline on b", offline("dev.1"))
	if p.Reason != "closed by the device" {
		t.Fatalf("offline reason on b = %q, want the device's", p.Reason)
	}
	if err := b.ToDevice(tests[0]); !errors.Is(err, broker.ErrOffline) {
		t.Fatalf("ToDevice after release: %v, want ErrOffline", err)
	}
}

func TestLateJoinerLearnsPresence(t *testing.T) {
	ns := natstest.Start(t)
	a, _ := startBroker(t, ns.URL(), "a")
	a.Hold(presence("d1", "a", 1, time.Now()))
	a.Hold(presence("d2", "a", 2, time.Now()))
	c, _ := startBroker(t, ns.URL(), "c")
	waitFor(t, "c knows d1 and d2 on a", func() bool { return len(c.Devices()) == 2 })
	waitFor(t, "a knows c", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.tab.hubs) == 1 })
}

func TestNewestConnectionWins(t *testing.T) {
	ns := natstest.Start(t)
	a, ra := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b")
	waitFor(t, "a and b know each other", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.tab.hubs) == 1 })

	t0 := time.Now()
	a.Hold(presence("dup", "a", 7, t0))
	waitFor(t, "b sees dup on a", heldBy(b, "dup", "a"))
	rb.expectPresence(t, "dup on a, on b", online("dup", "a"))
	b.Hold(presence("dup", "b", 3, t0.Add(time.Millisecond)))
	// a is told of the newer connection: a hub closes its own on this.
	p := ra.expectPresence(t, "dup taken over by b, on a", online("dup", "b"))
	if p.Conn != 3 {
		t.Fatalf("takeover presence conn = %d, want 3", p.Conn)
	}
	waitFor(t, "a routes dup to b", heldBy(a, "dup", "b"))
	// a's old connection going does not hide the new one.
	a.Release(broker.Presence{Device: "dup", Hub: "a", Conn: 7, Reason: "replaced"})
	time.Sleep(300 * time.Millisecond)
	for _, br := range []*Broker{a, b} {
		if p, ok := br.Lookup("dup"); !ok || p.Hub != "b" {
			t.Fatalf("%s: Lookup(dup) = %+v, %v after a's release; want b", br.opts.Hub, p, ok)
		}
	}
	for len(rb.presence) > 0 {
		if p := <-rb.presence; p.Device == "dup" && (p.Hub == "a" && p.Online || !p.Online) {
			t.Fatalf("b heard %+v: the older connection must not win or end b's", p)
		}
	}
	// A new connection wins even when the other hub's clock is ahead.
	a.Hold(presence("skew", "a", 9, t0.Add(time.Hour)))
	waitFor(t, "b sees skew on a", heldBy(b, "skew", "a"))
	b.Hold(presence("skew", "b", 4, t0))
	waitFor(t, "a routes skew to b", heldBy(a, "skew", "b"))
	ra.expectPresence(t, "skew taken over by b, on a", online("skew", "b"))

	// An older connection learnt late from a snapshot (a hub cut off by a
	// partition coming back) loses.
	b.applyHub(hubMsg{Kind: "snap", Hub: "z", Inst: "zz", Seq: 1, Part: 1, Parts: 1,
		Held: []presenceMsg{{Device: "dup", Hub: "z", Inst: "zz", Conn: 1, Online: true, Since: t0.Add(-time.Second)}}}, "")
	if p, ok := b.Lookup("dup"); !ok || p.Hub != "b" {
		t.Fatalf("b: Lookup(dup) = %+v after an older connection's snapshot; want b", p)
	}
}

func TestHubVanishes(t *testing.T) {
	ns := natstest.Start(t)
	a, _ := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b")
	a.Hold(presence("d", "a", 1, time.Now()))
	waitFor(t, "b sees d", heldBy(b, "d", "a"))
	a.nc.Close() // a crashes: no goodbye, no heartbeat
	p := rb.expectPresence(t, "d offline on b", offline("d"))
	if !strings.Contains(p.Reason, "hub a unreachable") {
		t.Fatalf("reason = %q, want hub a unreachable", p.Reason)
	}
	if _, ok := b.Lookup("d"); ok {
		t.Fatal("b still lists d")
	}
}

func TestGoodbye(t *testing.T) {
	ns := natstest.Start(t)
	a, _ := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b", func(o *Options) { o.Heartbeat = time.Hour })
	a.Hold(presence("d", "a", 1, time.Now()))
	waitFor(t, "b sees d", heldBy(b, "d", "a"))
	a.Close()
	p := rb.expectPresence(t, "d offline on b", offline("d"))
	if p.Reason != "hub a shut down" {
		t.Fatalf("reason = %q, want hub a shut down", p.Reason)
	}
}

func TestNATSOutages(t *testing.T) {
	ns := natstest.Start(t)
	a, ra := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b")
	a.Hold(presence("local", "a", 1, time.Now()))
	b.Hold(presence("remote", "b", 1, time.Now()))
	a.Watch("remote")
	a.Watch("local")
	waitFor(t, "a sees remote", heldBy(a, "remote", "b"))
	waitFor(t, "b sees local", heldBy(b, "local", "a"))

	var before int
	for round := range 4 {
		if round == 1 {
			before = runtime.NumGoroutine()
		}
		drain(ra.presence)
		ns.Shutdown()
		p := ra.expectPresence(t, "remote unreachable on a", offline("remote"))
		if !strings.Contains(p.Reason, "hub b unreachable") {
			t.Fatalf("reason = %q, want hub b unreachable", p.Reason)
		}
		waitFor(t, "a sees NATS down", func() bool { return !a.connected() })
		if err := a.ToDevice(broker.Message{Device: "remote", Data: []byte("x")}); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("ToDevice to a device on another hub while NATS is down: %v, want ErrUnreachable", err)
		}
		// a still serves its own device and pages.
		m := broker.Message{Device: "local", Data: []byte("still here")}
		if err := a.ToDevice(m); err != nil {
			t.Fatalf("local ToDevice while NATS is down: %v", err)
		}
		ra.expectMessage(t, ra.toDevice, m)
		a.ToPages(m)
		ra.expectMessage(t, ra.toPages, m)

		ns.Restart()
		ra.expectPresence(t, "remote back on a", online("remote", "b"))

		waitFor(t, "b sees local again", heldBy(b, "local", "a"))
		m = broker.Message{Device: "remote", Binary: true, Data: []byte{byte(round)}}
		waitFor(t, "a's watch of remote is back", func() bool {
			b.ToPages(m)
			select {
			case got := <-ra.toPages:
				return got.Device == "remote"
			case <-time.After(50 * time.Millisecond):
				return false
			}
		})
		drain(rb.toPages)
	}
	waitFor(t, "goroutines back to their number", func() bool {
		return runtime.NumGoroutine() <= before+2
	})
}

func drain[T any](ch chan T) {
	for len(ch) > 0 {
		<-ch
	}
}

func TestSlowHandlerDropsNotStalls(t *testing.T) {
	ns := natstest.Start(t)
	a, _ := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b", func(o *Options) { o.Pending = 16 })
	rb.slow = make(chan struct{})
	a.Hold(presence("d", "a", 1, time.Now()))
	waitFor(t, "b sees d", heldBy(b, "d", "a"))
	b.Watch("d")
	waitFor(t, "a knows b has pages of d", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.tab.interest["d"] == 1 })
	for i := range 2000 {
		a.ToPages(broker.Message{Device: "d", Data: []byte{byte(i)}})
	}
	a.nc.Flush()
	waitFor(t, "slow consumer counted", func() bool { return b.SlowConsumers() > 0 })
	// Presence still reaches b while messages back up (events dropped with
	// them are noticed at the next heartbeat and a snapshot heals them).
	a.Hold(presence("e", "a", 2, time.Now()))
	waitFor(t, "b sees e", heldBy(b, "e", "a"))
	close(rb.slow)
}

func TestStartNeedsURLAndName(t *testing.T) {
	for _, o := range []Options{{Hub: "a"}, {URL: "nats://127.0.0.1:1"}} {
		if err := New(o).Start(newRecorder()); err == nil {
			t.Errorf("Start with %+v: no error", o)
		}
	}
}

func TestSnapshotInParts(t *testing.T) {
	ns := natstest.Start(t)
	a, _ := startBroker(t, ns.URL(), "a")
	n := 2*snapChunk + 17
	since := time.Now()
	for i := range n {
		a.Hold(presence(fmt.Sprintf("dev-%05d", i), "a", uint64(i+1), since))
	}
	c, _ := startBroker(t, ns.URL(), "c")
	waitFor(t, "c knows every device of a", func() bool { return len(c.Devices()) == n })
}

func TestPublishOnlyWhatOtherHubsWatch(t *testing.T) {
	ns := natstest.Start(t)
	a, ra := startBroker(t, ns.URL(), "a")
	b, rb := startBroker(t, ns.URL(), "b")
	a.Hold(presence("d", "a", 1, time.Now()))
	waitFor(t, "b sees d", heldBy(b, "d", "a"))
	before := a.nc.Stats().OutMsgs
	for range 100 {
		a.ToPages(broker.Message{Device: "d", Data: []byte("nobody elsewhere")})
		<-ra.toPages
	}
	if n := a.nc.Stats().OutMsgs - before; n > 5 {
		t.Fatalf("a published %d messages to NATS for a device no other hub watches", n)
	}
	b.Watch("d")
	b.ToDevice(broker.Message{Device: "d", Data: []byte("hello")}) // after the watch, in order
	ra.expectMessage(t, ra.toDevice, broker.Message{Device: "d", Data: []byte("hello")})
	m := broker.Message{Device: "d", Data: []byte("now b has a page")}
	a.ToPages(m)
	rb.expectMessage(t, rb.toPages, m)
	b.Unwatch("d")
	waitFor(t, "a knows b has no page of d", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.tab.interest["d"] == 0 })
	// A hub joining late learns what the others watch from their snapshots.
	b.Watch("d")
	c, _ := startBroker(t, ns.URL(), "c")
	waitFor(t, "c knows b watches d", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.tab.interest["d"] == 1 })
}

func TestNATSDownAtStart(t *testing.T) {
	ns := natstest.Start(t)
	url := ns.URL()
	ns.Shutdown()
	a, ra := startBroker(t, url, "a")
	a.Hold(presence("here", "a", 1, time.Now()))
	m := broker.Message{Device: "here", Data: []byte("local works without NATS")}
	if err := a.ToDevice(m); err != nil {
		t.Fatalf("local ToDevice with NATS never up: %v", err)
	}
	ra.expectMessage(t, ra.toDevice, m)
	if err := a.ToDevice(broker.Message{Device: "elsewhere"}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("ToDevice of an unknown device with NATS down: %v, want ErrUnreachable", err)
	}
	ns.Restart()
	b, _ := startBroker(t, ns.URL(), "b")
	waitFor(t, "b learns of a's device once NATS is up", heldBy(b, "here", "a"))
}
