package ticks_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"tether/internal/ticks"
)

func TestEveryTicksUntilTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 3500*time.Millisecond)
		defer cancel()
		start := time.Now()
		var at []time.Duration
		for now := range ticks.Every(ctx, time.Second) {
			at = append(at, now.Sub(start))
		}
		if len(at) != 3 || at[0] != time.Second || at[2] != 3*time.Second {
			t.Errorf("ticks at %v, want 1s, 2s, 3s", at)
		}
	})
}

func TestEveryStopsOnBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		for range ticks.Every(t.Context(), time.Second) {
			if n++; n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("ran %d times, want 2", n)
		}
	})
}
