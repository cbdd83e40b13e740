package p2p

import (
	"testing"
	"time"
)

// TestFailSpellTellsOnceAfter: a run of failures is told once, at the
// first failure at least after its start; a new spell is told again.
func TestFailSpellTellsOnceAfter(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var f failSpell
	steps := []struct {
		at   time.Duration
		want bool
	}{{0, false}, {10 * time.Second, false}, {30 * time.Second, true}, {40 * time.Second, false}, {time.Hour, false}}
	for _, s := range steps {
		if got := f.tell(t0.Add(s.at), 30*time.Second); got != s.want {
			t.Errorf("tell at %v = %v; want %v", s.at, got, s.want)
		}
	}
	f = failSpell{} // connected again: a new spell
	if f.tell(t0.Add(2*time.Hour), 30*time.Second) || !f.tell(t0.Add(2*time.Hour+30*time.Second), 30*time.Second) {
		t.Error("a new spell is not told once it lasts 30s")
	}
	// A zero wait tells the first failure.
	var z failSpell
	if !z.tell(t0, 0) {
		t.Error("tell with no wait = false at the first failure")
	}
}
