package backoff_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/backoff"
)

func TestNextDoublesToCap(t *testing.T) {
	b := backoff.Backoff{Min: time.Second, Max: 60 * time.Second, Jitter: -1}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i, w := range want {
		if got := b.Next(); got != w*time.Second {
			t.Fatalf("delay %d = %v, want %v", i, got, w*time.Second)
		}
	}
	if b.Attempts() != len(want) {
		t.Fatalf("Attempts = %d", b.Attempts())
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after Reset = %v, want 1s", got)
	}
}

func TestJitterStaysInBoundsAndSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		b := backoff.Backoff{Min: 10 * time.Second, Jitter: 0.2}
		d := b.Next()
		if d < 8*time.Second || d > 12*time.Second {
			t.Fatalf("jittered delay %v outside 10s ± 20%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct delays in 200 draws: jitter does not spread", len(seen))
	}
}

func TestZeroValueDefaults(t *testing.T) {
	var b backoff.Backoff
	d := b.Next()
	if d < 800*time.Millisecond || d > 1200*time.Millisecond {
		t.Fatalf("zero Backoff first delay = %v, want about 1s", d)
	}
	for range 20 {
		d = b.Next()
	}
	if d > 72*time.Second {
		t.Fatalf("zero Backoff capped at %v, want about 60s", d)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := backoff.Backoff{Min: time.Minute, Max: 10 * time.Minute, Jitter: -1}
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		go func() { time.Sleep(10 * time.Second); cancel() }()
		if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("Wait returned after %v, want 10s (the cancel)", got)
		}
		start = time.Now()
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 2*time.Minute {
			t.Fatalf("second Wait took %v, want 2m", got)
		}
	})
}
