package notify

import (
	"cmp"
	"slices"
	"time"

	"github.com/meshmon/meshmon/health"
)

// DefaultSettle is how long a member must have been up before a transition
// to be trusted with it: a member that came (back) up later may not have seen
// the transition, because a node learns the statuses it finds at start
// without alerts.
const DefaultSettle = 30 * time.Second

// DispatchInput is everything Dispatch looks at.
type DispatchInput struct {
	// Self is this node's node_id.
	Self string
	// Election is the cluster's current election.
	Election ElectionResult
	// Pending are the alerts not yet delivered as this node knows them.
	Pending []Alert
	// Delivered are alert IDs known to be delivered (optional: a Ledger's
	// Pending already leaves them out).
	Delivered map[string]bool
	// Sending are alert IDs already handed to the Sender (optional, likewise).
	Sending map[string]bool
	// UpSince is since when each member has been up without a break
	// (Tracker.UpSince); missing or zero: forever. Nil treats every live
	// member as having seen everything.
	UpSince map[string]time.Time
	// Settle is how long before a transition a member must have been up to
	// send it (0: DefaultSettle).
	Settle time.Duration
}

// Dispatch decides what this node must send now. It is pure.
//
// Nothing is sent while the cluster waits for consensus. Otherwise each
// pending alert (not delivered, not being sent) has one sender: the first
// member in election order (ElectionResult.Live) that is not the alert's
// subject and has been up since at least Settle before the transition — or,
// when none has (the whole cluster just started), simply the first that is
// not the subject. Every member computes the same, so:
//   - the leader sends everything owed, including what the old leader had
//     not delivered, such as its own death;
//   - alerts about the leader itself are sent by the runner-up (a node never
//     sees its own transitions);
//   - alerts from before a member came (back) up are sent by one that was up
//     then: a leader that just returned knows nothing of them, while the
//     member that waited alone holds them.
//
// This node sends the alerts whose sender is itself.
//
// When several alerts about one node are owed (the cluster was waiting, or
// the old leader died before delivering), only the latest is sent and it
// Covers the earlier ones: an outage that already ended goes out as one
// "back online" alert that says it was offline from … to …. The result is
// ordered by time, then node.
func Dispatch(in DispatchInput) []Alert {
	if in.Election.Waiting {
		return nil
	}
	byNode := map[string][]Alert{}
	for _, a := range in.Pending {
		if in.Delivered[a.ID] || in.Sending[a.ID] || senderOf(in, a) != in.Self {
			continue
		}
		byNode[a.Node] = append(byNode[a.Node], a)
	}
	var out []Alert
	for _, as := range byNode {
		slices.SortFunc(as, func(a, b Alert) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
		last := as[len(as)-1]
		last.Covers = slices.Clone(last.Covers)
		for _, a := range as[:len(as)-1] {
			last.Covers = append(last.Covers, a.IDs()...)
		}
		out = append(out, last)
	}
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Node, b.Node))
	})
	return out
}

// senderOf is the member that must send a (see Dispatch).
func senderOf(in DispatchInput, a Alert) string {
	if in.Election.Waiting {
		return ""
	}
	settle := in.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	first := ""
	for _, m := range in.Election.Live {
		if m == a.Node {
			continue
		}
		if first == "" {
			first = m
		}
		if up := in.UpSince[m]; up.IsZero() || !up.Add(settle).After(a.At) {
			return m
		}
	}
	return first
}

// PlanInput is everything PlanDispatch looks at.
type PlanInput struct {
	// Dispatch are the pending alerts and the election.
	Dispatch DispatchInput
	// Now is the current time (zero: nothing is late).
	Now time.Time
	// Hold is the tracker's hold.
	Hold time.Duration
	// LateAfter is the late bound (0: LateAfter(Hold)).
	LateAfter time.Duration
	// Local is this node's own health.
	Local health.LocalHealth
}

// Suppressed is an alert that is not sent, and why.
type Suppressed struct {
	// Alert is the alert.
	Alert Alert
	// Reason says why.
	Reason Reason
}

// PlanResult is PlanDispatch's decision.
type PlanResult struct {
	// Send is what this node sends now (Dispatch over the eligible alerts).
	Send []Alert
	// Dropped are alerts never to be sent (late, or not agreed), oldest first.
	Dropped []Suppressed
	// Deferred are alerts this node would send but for its own health.
	Deferred []Alert
}

// PlanDispatch applies Eligible to every pending alert, then Dispatch to
// those this node must send now. It is pure.
func PlanDispatch(in PlanInput) PlanResult {
	var res PlanResult
	ok := make([]Alert, 0, len(in.Dispatch.Pending))
	for _, a := range in.Dispatch.Pending {
		if in.Dispatch.Delivered[a.ID] || in.Dispatch.Sending[a.ID] {
			continue
		}
		e := Eligible(EligibilityInput{
			Alert: a, Self: in.Dispatch.Self, Sender: senderOf(in.Dispatch, a), Local: in.Local,
			Now: in.Now, Hold: in.Hold, LateAfter: in.LateAfter,
		})
		switch {
		case e.Final:
			res.Dropped = append(res.Dropped, Suppressed{Alert: a, Reason: e.Reason})
		case e.Send:
			ok = append(ok, a)
		case e.Reason == ReasonLocalUnhealthy:
			res.Deferred = append(res.Deferred, a)
		}
	}
	d := in.Dispatch
	d.Pending = ok
	res.Send = Dispatch(d)
	return res
}

// SenderOf returns the member that must send a under in's election and
// up times (Dispatch's rule): "" while the cluster waits.
func SenderOf(in DispatchInput, a Alert) string { return senderOf(in, a) }
