package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts durations in log-linear buckets: exact below 128 ns, and
// above that 64 buckets per power of two, so a reported percentile is within
// about 1.6% of the true value. Memory is fixed (about 21 KB) whatever the
// number of samples. Record is safe from many goroutines at once; the zero
// value is ready to use.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits = 7                                // 128 exact values, then 64 per octave
	histOctaves = 39                               // up to 2^46 ns, about 19 hours
	histBuckets = 128 + histOctaves*64             // 2624
	histTop     = 1<<(histSubBits+histOctaves) - 1 // larger values count in the top bucket
)

func bucketOf(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	if v > histTop {
		v = histTop
	}
	shift := bits.Len64(v) - histSubBits
	return 128 + (shift-1)*64 + int(v>>shift) - 64
}

// bucketTop is the largest value that falls in bucket i.
func bucketTop(i int) uint64 {
	if i < 128 {
		return uint64(i)
	}
	shift := (i-128)/64 + 1
	m := uint64((i-128)%64 + 64)
	return (m+1)<<shift - 1
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of samples recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max is the largest sample, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean is the average sample, or 0 with none.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the sample at quantile q (0 < q ≤ 1): the top of the
// bucket holding it, never more than Max. It is 0 with no samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			if i == histBuckets-1 {
				return h.Max() // the top bucket also holds what was clamped
			}
			return min(time.Duration(bucketTop(i)), h.Max())
		}
	}
	return h.Max()
}

// Latency is a summary of a Histogram, as reported.
type Latency struct {
	Samples uint64        `json:"samples"`
	Mean    time.Duration `json:"mean_ns"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
}

// Summary returns the histogram's count, mean, p50, p90, p99 and max.
func (h *Histogram) Summary() Latency {
	return Latency{
		Samples: h.Count(), Mean: h.Mean(),
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99),
		Max: h.Max(),
	}
}
