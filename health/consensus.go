package health

import "time"

// ConsensusInput is everything Consensus looks at. It is built by the engine
// from its own state; Consensus itself does no I/O and reads no clock.
type ConsensusInput struct {
	// Self is this node's node_id.
	Self string
	// Members are the network's node_ids (including Self), in config order.
	Members []string
	// Now is the current local time.
	Now time.Time
	// SuspectAfter is how long without a heartbeat makes an observer stale.
	SuspectAfter time.Duration
	// LastHeard is when this node last admitted each member's heartbeat
	// (local clock). Missing or zero: never heard.
	LastHeard map[string]time.Time
	// Leaving marks members whose latest heartbeat announced a graceful leave.
	Leaving map[string]bool
	// Own is this node's opinion of each other member.
	Own map[string]Opinion
	// Reports holds every other observer's latest opinions: observer → subject → opinion.
	Reports map[string]map[string]Opinion
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
	// Live is how many live observers had an opinion (len(Observers)).
	Live int
	// Suspects are the node_ids of the live observers that suspect the
	// member, sorted.
	Suspects []string
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

// fresh reports whether t is a heartbeat time within suspectAfter of now.
func fresh(t time.Time, now time.Time, suspectAfter time.Duration) bool {
	return !t.IsZero() && now.Sub(t) <= suspectAfter
}

// Consensus computes every member's agreed status (DESIGN.md §6).
//
// The live observers of member P are this node plus every other member except
// P whose own heartbeat is fresh. Of those that hold an opinion of P:
//   - a majority suspecting P makes it offline;
//   - a minority (at least one) makes it degraded;
//   - none makes it online.
//
// A member whose latest heartbeat said leaving is left. A member nobody has an
// opinion of is unknown. With fewer than 2 opinions the verdict is this
// node's own and not confirmed. This node is always online in its own view.
func Consensus(in ConsensusInput) map[string]Verdict {
	live := make([]string, 0, len(in.Members))
	for _, m := range in.Members {
		if m != in.Self && fresh(in.LastHeard[m], in.Now, in.SuspectAfter) {
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
		for _, op := range v.Observers {
			if op == OpinionSuspect {
				v.Suspecting++
			}
		}
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
		case 2*v.Suspecting > v.Live:
			v.Status = StatusOffline
		case v.Suspecting > 0:
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

// fastPathGrace is how long after a failed redial a heartbeat still counts as
// sent before the failure (one already in flight, forwarded by another peer).
const fastPathGrace = 250 * time.Millisecond

// OwnOpinion is this node's opinion of a member from local evidence:
// lastHeard is when its latest heartbeat was admitted (zero: never),
// downSince is when an immediate redial after a disconnect failed (zero: no
// such evidence). A member never heard has no opinion; one not heard within
// suspectAfter, or not heard since its connection died, is suspect.
func OwnOpinion(lastHeard, downSince, now time.Time, suspectAfter time.Duration) Opinion {
	switch {
	case lastHeard.IsZero():
		return OpinionNone
	case !downSince.IsZero() && !lastHeard.After(downSince.Add(fastPathGrace)):
		return OpinionSuspect
	case now.Sub(lastHeard) > suspectAfter:
		return OpinionSuspect
	}
	return OpinionReachable
}
