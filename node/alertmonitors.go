package node

import (
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/notify"
)

// maxMonitorSettle bounds the wait of monitorsSettled: a member that never
// comes up must not hold monitor alerts back for long.
const maxMonitorSettle = 2 * time.Minute

// monitorsSettled tells whether monitor verdicts may raise alerts yet.
// Member transitions found at start are learnt without alerts, but a
// monitor may go down in a node's first seconds, while the members still
// disagree on who is live and so on who sends (two would). So monitor
// verdicts wait for the hold plus two suspect_after, and until every
// participating member's status is known (at most maxMonitorSettle).
// Outages that began meanwhile still alert then (MonitorTracker).
func (a *alertRuntime) monitorsSettled(now time.Time) bool {
	if a.monSettled {
		return true
	}
	age := now.Sub(a.started)
	if age < a.monSettle {
		return false
	}
	if age < maxMonitorSettle {
		verdicts := a.tracker.Verdicts()
		for _, cl := range a.clusters {
			for _, m := range cl.el.Members {
				if m.NodeID != a.self && m.State != notify.StateNotParticipating &&
					verdicts[m.NodeID].Status == health.StatusUnknown {
					return false
				}
			}
		}
	}
	a.monSettled = true
	return true
}
