package health

import (
	"maps"
	"slices"
	"time"
)

// ConsensusInput is everything Consensus looks at. It is built by the engine
// from its own state; Consensus itself does no I/O and reads no clock.
type ConsensusInput struct {
	// Self is this node's node_id.
	Self string
	// Members are the network's node_ids (including Self), in config order.
	Members []string
	// Leaving marks members whose latest announce said they are leaving.
	Leaving map[string]bool
	// Own is this node's opinion of each other member.
	Own map[string]Opinion
	// Reports holds every other observer's latest opinions: observer → subject → opinion.
	Reports map[string]map[string]Opinion
	// Recovering is true while this node recovers from a pause of its own
	// (Awareness): its silence proves nothing, so a member it has no
	// opinion of counts as a live observer, as before the pause.
	Recovering bool
}

// Verdict is the agreed status of one member and the evidence behind it.
type Verdict struct {
	// Status is the agreed status.
	Status Status
	// Confirmed is false when fewer than 2 live observers had an opinion, so the
	// status is this node's own view; alerts need a confirmed verdict.
	Confirmed bool
	// Observers are the opinions of the live observers that had one, by node_id.
	Observers map[string]Opinion
	// Suspecting is how many of them suspect the member.
	Suspecting int
	// Suspects are the node_ids of the live observers that suspect the
	// member, sorted. While the status is online, at most one: that
	// observer's opinion, not a verdict.
	Suspects []string
	// Live is how many live observers had an opinion (len(Observers)).
	Live int
}

// Agreeing is how many live observers agree with the verdict.
func (v Verdict) Agreeing() int {
	switch v.Status {
	case StatusOffline:
		return v.Suspecting
	case StatusOnline, StatusDegraded:
		return v.Live - v.Suspecting
	}
	return v.Live
}

// minSuspecting is how many live observers must suspect a member before it
// is anything but online: one member's word is never a verdict.
const minSuspecting = 2

// LiveObservers returns the members whose reports count (Self not
// included): those this node itself finds reachable, plus those that a
// majority of the former, holding an opinion, find reachable. Reports are
// published on change, so the report of a member this node can verify is
// current; a member that no verified observer vouches for may be dead,
// and its last reports would keep its dead peers alive (and they it).
func LiveObservers(in ConsensusInput) map[string]bool {
	direct := map[string]bool{}
	for _, m := range in.Members {
		if m != in.Self && (in.Own[m] == OpinionReachable || (in.Recovering && in.Own[m] == OpinionNone)) {
			direct[m] = true
		}
	}
	live := maps.Clone(direct)
	for _, m := range in.Members {
		if m == in.Self || direct[m] {
			continue
		}
		voters, up := 0, 0
		for v := range direct {
			if v == m {
				continue
			}
			switch in.Reports[v][m] {
			case OpinionReachable:
				voters++
				up++
			case OpinionSuspect:
				voters++
			}
		}
		if voters > 0 && 2*up > voters {
			live[m] = true
		}
	}
	return live
}

// Consensus computes every member's agreed status (DESIGN.md §6).
//
// The live observers of member P are this node plus LiveObservers, except
// P. Of those that hold an opinion of P:
//   - at least 2, and a majority, suspecting P makes it offline;
//   - at least 2, but not a majority, makes it degraded;
//   - fewer than 2 makes it online (a single suspecter is listed in
//     Suspects: one observer's opinion, shown as such, never alerted).
//
// A member whose latest announce said leaving is left. A member nobody has
// an opinion of is unknown. With fewer than 2 opinions the verdict is this
// node's own and not confirmed. This node is always online in its own view.
func Consensus(in ConsensusInput) map[string]Verdict {
	alive := LiveObservers(in)
	live := make([]string, 0, len(alive))
	for _, m := range in.Members {
		if alive[m] {
			live = append(live, m)
		}
	}
	out := make(map[string]Verdict, len(in.Members))
	for _, p := range in.Members {
		v := Verdict{Observers: map[string]Opinion{}}
		if p == in.Self {
			v.Observers[in.Self] = OpinionReachable
		} else if o := in.Own[p]; o != OpinionNone {
			v.Observers[in.Self] = o
		}
		for _, o := range live {
			if o == p {
				continue
			}
			if op := in.Reports[o][p]; op != OpinionNone {
				v.Observers[o] = op
			}
		}
		v.Live = len(v.Observers)
		for o, op := range v.Observers {
			if op == OpinionSuspect {
				v.Suspecting++
				v.Suspects = append(v.Suspects, o)
			}
		}
		slices.Sort(v.Suspects)
		v.Confirmed = v.Live >= 2
		switch {
		case in.Leaving[p] && p != in.Self:
			v.Status = StatusLeft
		case p == in.Self:
			v.Status = StatusOnline
		case v.Live == 0:
			v.Status = StatusUnknown
		case !v.Confirmed:
			// One opinion is left (usually this node's): it decides, unconfirmed.
			for _, op := range v.Observers {
				v.Status = statusOf(op)
			}
		case v.Suspecting >= minSuspecting && 2*v.Suspecting > v.Live:
			v.Status = StatusOffline
		case v.Suspecting >= minSuspecting:
			v.Status = StatusDegraded
		default:
			v.Status = StatusOnline
		}
		out[p] = v
	}
	return out
}

func statusOf(o Opinion) Status {
	if o == OpinionSuspect {
		return StatusOffline
	}
	return StatusOnline
}

// fastPathGrace is how long after a failed redial evidence still counts as
// sent before the failure (a message already in flight, forwarded by
// another peer).
const fastPathGrace = 250 * time.Millisecond

// OwnOpinion is this node's opinion of a member from local evidence.
// lastHeard is this node's latest evidence of the member: an answered ping,
// a ping request from it, or one of its messages (zero: never). downSince is
// when a probe right after a disconnect was refused (zero: no such
// evidence). resumedAt is when this node last resumed from a pause of its
// own (zero: never; see Awareness).
//
// A member never heard has no opinion. One not heard within suspectAfter,
// or not heard since its connection died, is suspect. Silence is measured
// from resumedAt at the earliest, and while this node recovers (within
// suspectAfter of resumedAt) a member not heard since is given no opinion:
// a paused node withdraws its silence-based suspicions instead of
// repeating them.
func OwnOpinion(lastHeard, downSince, resumedAt, now time.Time, suspectAfter time.Duration) Opinion {
	switch {
	case lastHeard.IsZero():
		return OpinionNone
	case !downSince.IsZero() && !lastHeard.After(downSince.Add(fastPathGrace)):
		return OpinionSuspect
	}
	ref := lastHeard
	if resumedAt.After(ref) {
		ref = resumedAt
	}
	switch {
	case now.Sub(ref) > suspectAfter:
		return OpinionSuspect
	case lastHeard.Before(resumedAt):
		return OpinionNone
	}
	return OpinionReachable
}
