package health

import (
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// reportPace is the least time between two Reports when no opinion changed.
// While a node's links come up (its start, a healed partition, a member
// set that grew), every link changes its link facts (connected, relayed,
// first RTT) at moments spread over a second or more. Publishing a Report
// for each would make a start cost every node about N Reports of N
// observations, each flooded to N members: N⁴ bytes network-wide, N²
// signature checks per node. Paced, the link facts of a burst go out in a
// few Reports.
const reportPace = time.Second

// reportChange compares this node's observations now (own) with what it
// last published. changed: some observation differs in what makes a new
// Report (publishedObs). opinion: some opinion changed (first evidence of a
// member, a suspicion, a suspicion withdrawn). Opinions are what the other
// members' consensus counts, so they go out at the next tick, as before: a
// member whose opinion the others do not hold yet is not counted among the
// observers, and a failure would rest on fewer words. Link facts only feed
// the view's connections, so they can wait for the pace. suspect: some
// opinion is newly suspect (newlySuspect), which goes out even between
// ticks (evaluateSoon).
func reportChange(published map[string]publishedObs, own map[string]*pb.PeerObservation) (changed, opinion, suspect bool) {
	for k, o := range own {
		was, now := published[k], observed(o)
		if was == now {
			continue
		}
		changed = true
		opinion = opinion || was.op != now.op
		suspect = suspect || newlySuspect(was, now)
	}
	return changed, opinion, suspect
}

// reportDue tells whether a changed Report goes out at a tick: at once
// when urgent (an opinion changed), else when reportPace has passed since
// the last Report (lastAt, zero when none was published yet).
func reportDue(urgent bool, lastAt, now time.Time) bool {
	return urgent || lastAt.IsZero() || now.Sub(lastAt) >= reportPace
}
