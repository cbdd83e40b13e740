package notify

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// TestTrackerUpSinceSelfAfterAPause: a node that resumed from a pause is up,
// in its own eyes too, only since it resumed, as the others saw it; else
// the settle rule makes it and the runner-up both the sender of an alert
// about the leader (seen in the chaos soak).
func TestTrackerUpSinceSelfAfterAPause(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tr := NewTracker("net", "a")
	s := Snapshot{Verdicts: map[string]health.Verdict{"a": {Status: health.StatusOnline}}}
	tr.Observe(s, t0)
	if got := tr.UpSince()["a"]; !got.Equal(t0) {
		t.Fatalf("UpSince[self] = %v; want the tracker's start %v", got, t0)
	}
	resumed := t0.Add(time.Minute)
	s.ResumedAt = resumed
	tr.Observe(s, resumed.Add(5*time.Second))
	if got := tr.UpSince()["a"]; !got.Equal(resumed) {
		t.Errorf("UpSince[self] after a pause = %v; want the resume %v", got, resumed)
	}
}
