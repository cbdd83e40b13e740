package metrics

import (
	"slices"
	"sync"
	"time"
)

// AlertDeliveryBuckets are the upper bounds, in seconds, of
// meshmon_alert_delivery_seconds: from a prompt webhook to one that made the
// sender back off and retry for minutes.
func AlertDeliveryBuckets() []float64 {
	return []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// HistogramSnapshot is the state of a histogram at one moment, in the form
// prometheus.MustNewConstHistogram takes.
type HistogramSnapshot struct {
	// Count is the number of observations.
	Count uint64
	// Sum is the sum of the observations, in seconds.
	Sum float64
	// Buckets are cumulative counts by upper bound (seconds); the +Inf
	// bucket is Count.
	Buckets map[float64]uint64
}

// DurationHistogram accumulates durations into fixed buckets for a
// Collector to read. The collector owns no state, so whoever observes the
// durations (the node, through notify.SenderConfig.ObserveLatency) keeps
// one and hands Snapshot to Sources. It is safe for concurrent use; Observe
// never blocks for long.
type DurationHistogram struct {
	bounds []float64

	// mu protects the following fields.
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

// NewDurationHistogram returns an empty histogram with the given upper
// bounds in seconds (AlertDeliveryBuckets when nil).
func NewDurationHistogram(bounds []float64) *DurationHistogram {
	if bounds == nil {
		bounds = AlertDeliveryBuckets()
	}
	bounds = slices.Clone(bounds)
	slices.Sort(bounds)
	return &DurationHistogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

// Observe adds one duration.
func (h *DurationHistogram) Observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(h.bounds, s)
	h.mu.Lock()
	defer h.mu.Unlock()
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.count++
	h.sum += s
}

// Snapshot returns the histogram so far.
func (h *DurationHistogram) Snapshot() HistogramSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := HistogramSnapshot{Count: h.count, Sum: h.sum, Buckets: make(map[float64]uint64, len(h.bounds))}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		out.Buckets[b] = cum
	}
	return out
}
