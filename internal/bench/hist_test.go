package bench

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform 0-100 µs", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(100_000)) }},
		{"exponential mean 2 ms", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 2e6) }},
		{"tiny values", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(200)) }},
		{"long tail to 10 s", func(r *rand.Rand) time.Duration {
			if r.IntN(100) == 0 {
				return time.Duration(r.Int64N(10e9))
			}
			return time.Duration(r.Int64N(1e6))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			samples := make([]time.Duration, 50000)
			for i := range samples {
				samples[i] = tt.gen(r)
				h.Record(samples[i])
			}
			slices.Sort(samples)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := samples[int(q*float64(len(samples)))-1]
				got := h.Quantile(q)
				if diff := got - exact; diff < -exact/50-1 || diff > exact/50+1 {
					t.Errorf("q%.3f: got %v, want %v within 2%%", q, got, exact)
				}
			}
			if h.Max() != samples[len(samples)-1] || h.Count() != uint64(len(samples)) {
				t.Errorf("got max %v of %d, want %v of %d", h.Max(), h.Count(), samples[len(samples)-1], len(samples))
			}
			s := h.Summary()
			if !(s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max) {
				t.Errorf("summary out of order: %+v", s)
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if s := h.Summary(); s != (Latency{}) {
		t.Errorf("empty: got %+v, want zeros", s)
	}
	h.Record(-5)
	h.Record(100 * time.Hour) // beyond the top bucket: clamped there, max exact
	if h.Quantile(0.5) != 0 || h.Max() != 100*time.Hour || h.Quantile(1) != 100*time.Hour {
		t.Errorf("got p50 %v, max %v, p100 %v", h.Quantile(0.5), h.Max(), h.Quantile(1))
	}
	for i := range histBuckets {
		if bucketOf(bucketTop(i)) != i {
			t.Fatalf("bucket %d: its top %d falls in bucket %d", i, bucketTop(i), bucketOf(bucketTop(i)))
		}
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999 {
		t.Errorf("got %d samples, max %v; want 8000, 7999ns", h.Count(), h.Max())
	}
}
