package p2p

import (
	"testing"
	"time"
)

// TestRedialLimit: a member up a moment ago is redialled twice a second; a
// member not up since this node started, or not for absentAfter, once a
// minute (a large config's absent members); any other every 10 s.
func TestRedialLimit(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		upAt time.Time
		want time.Duration
	}{
		{"never up since start", time.Time{}, time.Minute},
		{"up a second ago", now.Add(-time.Second), 500 * time.Millisecond},
		{"up just under recentlyUp ago", now.Add(-recentlyUp + time.Millisecond), 500 * time.Millisecond},
		{"up recentlyUp ago", now.Add(-recentlyUp), 10 * time.Second},
		{"up just under absentAfter ago", now.Add(-absentAfter + time.Millisecond), 10 * time.Second},
		{"up absentAfter ago", now.Add(-absentAfter), time.Minute},
		{"up a day ago", now.Add(-24 * time.Hour), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redialLimit(tt.upAt, now); got != tt.want {
				t.Errorf("redialLimit(%v, now) = %v; want %v", now.Sub(tt.upAt), got, tt.want)
			}
		})
	}
}

// TestRedialJitter: a redial wait is spread within ±10 %, and not always
// by the same amount (members that failed together are not redialled in
// lockstep).
func TestRedialJitter(t *testing.T) {
	for _, d := range []time.Duration{500 * time.Millisecond, 10 * time.Second, time.Minute} {
		seen := map[time.Duration]bool{}
		for range 100 {
			got := redialJitter(d)
			if got < d-d/10 || got > d+d/10 {
				t.Fatalf("redialJitter(%v) = %v; want within ±10 %%", d, got)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("redialJitter(%v) gave one value in 100 calls; want them spread", d)
		}
	}
}
