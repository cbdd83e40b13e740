package jitter

import (
	"testing"
	"time"
)

// TestSpreadStaysWithinTenPercent: every value lies within ±10 % of d,
// and not always at the same place (timers that started together do not
// stay in lockstep).
func TestSpreadStaysWithinTenPercent(t *testing.T) {
	for _, d := range []time.Duration{500 * time.Millisecond, 10 * time.Second, time.Minute} {
		seen := map[time.Duration]bool{}
		for range 100 {
			got := Spread(d)
			if got < d-d/10 || got > d+d/10 {
				t.Fatalf("Spread(%v) = %v; want within ±10 %%", d, got)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("Spread(%v) gave one value in 100 calls; want them spread", d)
		}
	}
	if got := Spread(0); got != 0 {
		t.Errorf("Spread(0) = %v; want 0", got)
	}
}
