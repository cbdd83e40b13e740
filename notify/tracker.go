package notify

import (
	"maps"
	"slices"
	"time"

	"github.com/meshmon/meshmon/health"
)

// Snapshot is one evaluation of a network's consensus, as Tracker takes it.
type Snapshot struct {
	// Verdicts are the consensus verdicts by node_id.
	Verdicts map[string]health.Verdict
	// Boots are the nodes' boot_ids as last heard (optional).
	Boots map[string]uint64
	// RTTs are current ping RTTs to the nodes (optional; 0 = none now).
	RTTs map[string]time.Duration
}

// SnapshotFromView rebuilds a Snapshot from an engine's published view, for
// callers that read health.Engine.View rather than the verdicts themselves.
// A node's RTT is the median of its live observers' non-zero RTTs.
func SnapshotFromView(nv *health.NetworkView) Snapshot {
	s := Snapshot{
		Verdicts: map[string]health.Verdict{},
		Boots:    map[string]uint64{},
		RTTs:     map[string]time.Duration{},
	}
	if nv == nil {
		return s
	}
	for id, n := range nv.Nodes {
		v := health.Verdict{
			Status:    n.Status,
			Confirmed: n.Confirmed,
			Observers: make(map[string]health.Opinion, len(n.Observers)),
		}
		var rtts []float64
		for o, ov := range n.Observers {
			op := opinionOf(ov.Opinion)
			if op == health.OpinionNone {
				continue
			}
			v.Observers[o] = op
			if op == health.OpinionSuspect {
				v.Suspecting++
			}
			if ov.RTTMs > 0 {
				rtts = append(rtts, ov.RTTMs)
			}
		}
		v.Live = len(v.Observers)
		s.Verdicts[id] = v
		if n.BootID != 0 {
			s.Boots[id] = n.BootID
		}
		if len(rtts) > 0 {
			slices.Sort(rtts)
			s.RTTs[id] = time.Duration(rtts[len(rtts)/2] * float64(time.Millisecond))
		}
	}
	return s
}

func opinionOf(s string) health.Opinion {
	switch s {
	case health.OpinionReachable.String():
		return health.OpinionReachable
	case health.OpinionSuspect.String():
		return health.OpinionSuspect
	}
	return health.OpinionNone
}

// Tracker turns successive consensus snapshots of one network into alerts:
// it keeps the last confirmed status of each node (for Transitions), the
// last non-zero RTT to each (an offline node has none any more), and since
// when each member has been up (UpSince, for Dispatch). It is not safe for
// concurrent use: one goroutine, the network's owner, calls it.
type Tracker struct {
	network string
	self    string
	known   map[string]Known
	lastRTT map[string]time.Duration
	started time.Time

	boots   map[string]uint64
	seen    map[string]bool
	wasLive map[string]bool
	// downBoot is a member's boot when it stopped being live.
	downBoot map[string]uint64
	// back is when a member that stopped being live came back without
	// restarting (same boot); absent otherwise.
	back map[string]time.Time
}

// NewTracker returns a tracker for network, run by node self, with nothing
// known yet.
func NewTracker(network, self string) *Tracker {
	return &Tracker{
		network: network, self: self,
		known: map[string]Known{}, lastRTT: map[string]time.Duration{},
		boots: map[string]uint64{}, seen: map[string]bool{}, wasLive: map[string]bool{},
		downBoot: map[string]uint64{}, back: map[string]time.Time{},
	}
}

// Observe takes the snapshot evaluated at now and returns the alerts it
// causes (see Transitions).
func (t *Tracker) Observe(s Snapshot, now time.Time) []Alert {
	if t.started.IsZero() {
		t.started = now
	}
	for n, d := range s.RTTs {
		if d > 0 {
			t.lastRTT[n] = d
		}
	}
	for n, b := range s.Boots {
		if b != 0 {
			t.boots[n] = b
		}
	}
	for n, v := range s.Verdicts {
		if n == t.self || (v.Status == health.StatusUnknown && !t.seen[n]) {
			continue
		}
		live := alive(v.Status)
		switch {
		case !live && t.wasLive[n]:
			t.downBoot[n] = t.boots[n]
			delete(t.back, n)
		case live && t.seen[n] && !t.wasLive[n]:
			if t.boots[n] == t.downBoot[n] {
				t.back[n] = now
			}
		}
		t.seen[n], t.wasLive[n] = true, live
	}
	alerts, next := Transitions(TransitionInput{
		Network:  t.network,
		Prev:     t.known,
		Verdicts: s.Verdicts,
		Boots:    s.Boots,
		LastRTT:  t.lastRTT,
		Now:      now,
	})
	t.known = next
	return alerts
}

// Known returns a copy of the last confirmed status of each node.
func (t *Tracker) Known() map[string]Known { return maps.Clone(t.known) }

// UpSince returns, for each node, since when it has been running and
// watching without a break as far as this node can tell: its boot (the
// boot_id is the process start, the same fact on every member), or later
// when it came back from an outage without restarting (a hang or a network
// partition), at the time this node saw it return. This node's own entry is
// its boot (or its first Observe when the snapshots carry no boot).
// Pass it to Dispatch or Ledger.Take.
func (t *Tracker) UpSince() map[string]time.Time {
	out := make(map[string]time.Time, len(t.boots)+1)
	for n, b := range t.boots {
		out[n] = time.UnixMilli(int64(b))
	}
	for n, at := range t.back {
		if at.After(out[n]) {
			out[n] = at
		}
	}
	if _, ok := out[t.self]; !ok {
		out[t.self] = t.started
	}
	return out
}
