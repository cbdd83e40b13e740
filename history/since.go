package history

import "time"

// Current is a subject's latest recorded status and since when it holds.
type Current struct {
	Status string    `json:"status"`
	Since  time.Time `json:"since"`
	// SinceStart: the status already held when this node's session began
	// (or the clock stepped), so it may hold since earlier than Since.
	SinceStart bool `json:"since_session_start"`
}

// CurrentOf finds the subject's current status in the changes of session
// (in recorded order): the last change's status, since the change that
// entered it. It is a pure function; ok is false when the session has no
// change of the subject.
func CurrentOf(changes []Change, session uint64) (c Current, ok bool) {
	var mine []Change
	for _, ch := range changes {
		if ch.Session == session {
			mine = append(mine, ch)
		}
	}
	if len(mine) == 0 {
		return Current{}, false
	}
	last := mine[len(mine)-1]
	c = Current{Status: last.To, Since: last.Time}
	for i := len(mine) - 1; i >= 0; i-- {
		if mine[i].To != last.To {
			break
		}
		c.Since = mine[i].Time
		// A change that does not change (From == To) is a baseline written
		// at the session's start.
		c.SinceStart = mine[i].From == mine[i].To
	}
	return c, true
}
