package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRelay(t *testing.T) {
	devURL, pageURL := startRelay(t, 0)
	dropDev, dropPage := startRelay(t, 10)
	tests := []struct {
		name             string
		dev, page        string
		devices, pages   int
		rate             float64
		window           int
		direction        string
		lossy            bool
		wantDown, wantUp bool
	}{
		{"closed loop 1x1", devURL, pageURL, 1, 1, 0, 0, "", false, true, true},
		{"closed loop 2x3", devURL, pageURL, 2, 3, 0, 0, "both", false, true, true},
		{"rate 2x2", devURL, pageURL, 2, 2, 500, 0, "both", false, true, true},
		{"closed loop, window 16, 1x5", devURL, pageURL, 1, 5, 0, 16, "both", false, true, true},
		{"down only", devURL, pageURL, 1, 2, 0, 0, "down", false, true, false},
		{"up only", devURL, pageURL, 1, 2, 0, 0, "up", false, false, true},
		{"every 10th dropped", dropDev, dropPage, 2, 2, 300, 0, "both", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// a lossy run waits out its whole drain: long enough for a
			// loaded machine to deliver what was not dropped
			drain := 5 * time.Second
			if tt.lossy {
				drain = 1500 * time.Millisecond
			}
			res, err := Relay(context.Background(), RelayOptions{DeviceURL: tt.dev, PageURL: tt.page + "/",
				Devices: tt.devices, Pages: tt.pages, Rate: tt.rate, Window: tt.window, Direction: tt.direction,
				Duration: 300 * time.Millisecond, Drain: drain})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 {
				t.Fatalf("got %d errors, first %q", res.Errors, res.FirstError)
			}
			// every page got the shadow and the presence event, skipped
			if want := uint64(2 * tt.devices * tt.pages); res.Other != want {
				t.Errorf("other messages: got %d, want %d", res.Other, want)
			}
			for _, d := range []struct {
				name   string
				dir    Direction
				want   bool
				fanOut uint64
			}{{"device→page", res.Down, tt.wantDown, uint64(tt.pages)}, {"page→device", res.Up, tt.wantUp, 1}} {
				if !d.want {
					if d.dir.Sent != 0 || d.dir.Received != 0 {
						t.Errorf("%s: got %+v, want nothing sent", d.name, d.dir)
					}
					continue
				}
				checkDirection(t, d.name, d.dir, d.fanOut, tt.lossy)
			}
		})
	}
}

func checkDirection(t *testing.T, name string, d Direction, fanOut uint64, lossy bool) {
	t.Helper()
	if d.Sent == 0 || d.Expected != d.Sent*fanOut || d.Delivered > d.Received || d.Rate <= 0 {
		t.Errorf("%s: got %+v, want sent > 0, expected = sent × %d, delivered ≤ received, rate > 0", name, d, fanOut)
	}
	if d.Lost+d.Received != d.Expected {
		t.Errorf("%s: got lost %d + received %d != expected %d", name, d.Lost, d.Received, d.Expected)
	}
	if d.OutOfOrder != 0 {
		t.Errorf("%s: got %d out of order, want 0", name, d.OutOfOrder)
	}
	if !lossy && d.Lost != 0 {
		t.Errorf("%s: got %d lost on a correct relay, want 0", name, d.Lost)
	}
	if lossy && (d.Lost == 0 || d.Lost > d.Expected/5) {
		t.Errorf("%s: got %d lost of %d on a relay dropping every 10th, want about a tenth", name, d.Lost, d.Expected)
	}
	checkLatency(t, name, d.Latency)
}

func TestRelayErrors(t *testing.T) {
	devURL, _ := startRelay(t, 0)
	tests := []struct {
		name string
		o    RelayOptions
		want string
	}{
		{"bad broker", RelayOptions{Broker: "amqp"}, `got "amqp", want hub, mqtt or tcp`},
		{"bad direction", RelayOptions{Direction: "sideways"}, `got "sideways", want both, down or up`},
		{"no hub", RelayOptions{DeviceURL: "ws://127.0.0.1:1"}, "connect devices: dial ws://127.0.0.1:1/bench-0"},
		{"no page endpoint", RelayOptions{DeviceURL: devURL, PageURL: "ws://127.0.0.1:1"}, "connect pages: dial ws://127.0.0.1:1/bench-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Duration = 100 * time.Millisecond
			_, err := Relay(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRelayReordered checks that a stream's reordering is counted and
// that losses are counted once the drain ends.
func TestSeqCheck(t *testing.T) {
	tests := []struct {
		seqs          []uint64
		received, ooo uint64
	}{
		{[]uint64{0, 1, 2, 3}, 4, 0},
		{[]uint64{0, 2, 1, 3}, 4, 1},
		{[]uint64{1, 2, 4}, 3, 0},
		{[]uint64{3, 2, 1, 0}, 4, 3},
	}
	for _, tt := range tests {
		var s seqCheck
		for _, q := range tt.seqs {
			s.see(q)
		}
		if s.received != tt.received || s.outOfOrder != tt.ooo {
			t.Errorf("%v: got received %d, out of order %d; want %d, %d", tt.seqs, s.received, s.outOfOrder, tt.received, tt.ooo)
		}
	}
}
