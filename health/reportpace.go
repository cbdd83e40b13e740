package health

import (
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// reportPace is the least time between two Reports when nothing urgent
// changed. While a node's links come up (its start, a healed partition,
// a member set that grew), every link changes its observation several
// times (connected, reachable, first RTT), at moments spread over a
// second or more. Publishing a Report for each would make a start cost
// every node about N Reports of N observations, each flooded to N members:
// N⁴ bytes network-wide, N² signature checks per node. Paced, the good news
// of a burst goes out in a few Reports.
const reportPace = time.Second

// reportChange compares this node's observations now (own) with what it
// last published. changed: some observation differs in what makes a new
// Report (publishedObs). urgent: some opinion turned suspect or stopped
// being suspect. That is what moves a member's agreed status at the other
// members (a failure detected, or withdrawn), so it goes out at once, never
// held back by the pace.
func reportChange(published map[string]publishedObs, own map[string]*pb.PeerObservation) (changed, urgent bool) {
	for k, o := range own {
		was, now := published[k], observed(o)
		if was == now {
			continue
		}
		changed = true
		if was.op != now.op && (was.op == OpinionSuspect || now.op == OpinionSuspect) {
			return true, true
		}
	}
	return changed, false
}

// reportDue tells whether a changed Report goes out now: at once when
// urgent, else when reportPace has passed since the last Report (lastAt,
// zero when none was published yet).
func reportDue(urgent bool, lastAt, now time.Time) bool {
	return urgent || lastAt.IsZero() || now.Sub(lastAt) >= reportPace
}
