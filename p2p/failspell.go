package p2p

import "time"

// failSpell is a run of failures: since the first, and whether the log
// was told.
type failSpell struct {
	since time.Time
	told  bool
}

// tell notes a failure at now and tells whether the log should say so
// now: once a spell, when it has lasted after.
func (f *failSpell) tell(now time.Time, after time.Duration) bool {
	if f.since.IsZero() {
		f.since = now
	}
	if f.told || now.Sub(f.since) < after {
		return false
	}
	f.told = true
	return true
}
