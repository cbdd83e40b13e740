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
	// ResumedAt is when this node last came back from a pause the others
	// saw as it being offline (health.LocalHealth.ReturnedAt; zero:
	// never): they count it as up only since, and so must it.
	ResumedAt time.Time
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
	if r := nv.Local.ReturnedAt; r != nil {
		s.ResumedAt = *r
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
				v.Suspects = append(v.Suspects, o)
			}
			if ov.RTTMs > 0 {
				rtts = append(rtts, ov.RTTMs)
			}
		}
		v.Live = len(v.Observers)
		slices.Sort(v.Suspects)
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
//
// It is event-driven: Observe takes every view the engine publishes, with
// the view's own time, so a status's exact start and end are known and two
// short spells with a brief break between them stay two spells (Held);
// Tick lets a held status come through when no new view arrives.
type Tracker struct {
	network  string
	self     string
	hold     time.Duration
	recovery time.Duration
	// stable are the verdicts taken in (held long enough), cand each
	// node's latest status and since when it has been so.
	stable map[string]health.Verdict
	cand   map[string]candidate
	// last is the latest snapshot Observe took, for Tick.
	last Snapshot
	// verdicts are those the last Observe took in.
	verdicts map[string]health.Verdict
	known    map[string]Known
	lastRTT  map[string]time.Duration
	started  time.Time
	// suppressed counts statuses that raised no alert, by reason.
	suppressed map[Reason]uint64

	boots   map[string]uint64
	seen    map[string]bool
	wasLive map[string]bool
	// downBoot is a member's boot when it stopped being live.
	downBoot map[string]uint64
	// back is when a member that stopped being live came back without
	// restarting (same boot); absent otherwise.
	back map[string]time.Time
}

type candidate struct {
	status health.Status
	since  time.Time
	// single is set when the raw status was degraded on one observer's
	// word and is taken as online (Agreed).
	single bool
}

// NewTracker returns a tracker for network, run by node self, with nothing
// known yet.
func NewTracker(network, self string) *Tracker {
	return &Tracker{
		network: network, self: self,
		stable: map[string]health.Verdict{}, cand: map[string]candidate{},
		known: map[string]Known{}, lastRTT: map[string]time.Duration{},
		suppressed: map[Reason]uint64{},
		boots:      map[string]uint64{}, seen: map[string]bool{}, wasLive: map[string]bool{},
		downBoot: map[string]uint64{}, back: map[string]time.Time{},
	}
}

// SetHold makes the tracker take in a node's new status only once it has
// lasted hold without a break (0, the default: at once). Statuses that do
// not last are never seen: a node that is degraded for a moment at
// start-up or as one observer's reports arrive late raises no alert, and
// the steps of a transition still under way (online → degraded → offline
// as observers' reports arrive) become one. The alert then carries the
// time its status began. Observe must see every view, and Tick be called
// regularly, for held statuses to come through.
//
// recovery (at least hold) is how long degraded must last after offline or
// left: a node that comes back is degraded until every observer has heard
// it again, which takes a few heartbeats, and is reported "back online"
// once, not "degraded" first; one that stays partly unreachable is
// reported degraded after recovery.
func (t *Tracker) SetHold(hold, recovery time.Duration) {
	t.hold = max(hold, 0)
	t.recovery = max(recovery, t.hold)
}

// agreedVerdict returns v as an alert may see it: a degraded verdict that
// fewer than 2 observers claim is one member's opinion, taken as online
// (Agreed), and reported by the second result.
func agreedVerdict(v health.Verdict) (health.Verdict, bool) {
	if v.Confirmed && v.Status == health.StatusDegraded {
		if ok, _ := Agreed(v.Status, v.Live, v.Suspecting); !ok {
			v.Status = health.StatusOnline
			return v, true
		}
	}
	return v, false
}

// held returns the verdicts of s that have lasted the hold by now: a node
// whose status changed more recently keeps its previous stable verdict, or
// is left out while it has none. With update, s is a new view taken at
// now and its statuses start or end candidates; without, only time passes.
// It also returns, per node, when the status it returns began.
func (t *Tracker) held(s Snapshot, now time.Time, update bool) (Snapshot, map[string]time.Time) {
	out := s
	out.Verdicts = make(map[string]health.Verdict, len(s.Verdicts))
	since := make(map[string]time.Time, len(s.Verdicts))
	for n, raw := range s.Verdicts {
		v, single := agreedVerdict(raw)
		c, ok := t.cand[n]
		if update {
			if !ok || c.status != v.Status {
				if _, known := t.stable[n]; known && ok && c.status != health.StatusUnknown && !t.isStable(n, c.status) {
					// It ended before the hold: it would have been an alert.
					t.suppressed[ReasonNotHeld]++
				}
				c = candidate{status: v.Status, since: now}
			}
			if single && !c.single {
				t.suppressed[ReasonSingleObserver]++
			}
			c.single = single
			t.cand[n] = c
		}
		if !ok && !update {
			continue
		}
		sv, ok := t.stable[n]
		if c.status == v.Status && Held(c.since, time.Time{}, now, t.holdFor(n, v.Status)) {
			if !ok || sv.Status != v.Status {
				since[n] = c.since
			}
			sv, ok = v, true
			t.stable[n] = v
		}
		if ok {
			out.Verdicts[n] = sv
		}
	}
	return out, since
}

// isStable reports whether status is node n's stable one.
func (t *Tracker) isStable(n string, status health.Status) bool {
	sv, ok := t.stable[n]
	return ok && sv.Status == status
}

// holdFor is how long status must last for node n to be taken in.
func (t *Tracker) holdFor(n string, status health.Status) time.Duration {
	sv, ok := t.stable[n]
	if ok && status == health.StatusDegraded && (sv.Status == health.StatusOffline || sv.Status == health.StatusLeft) {
		return t.recovery
	}
	return t.hold
}

// Observe takes the snapshot of a view computed at at (the view's own
// time) and returns the alerts it causes (see Transitions and SetHold).
// Give it every view, in order.
func (t *Tracker) Observe(s Snapshot, at time.Time) []Alert {
	var out []Alert
	if !t.started.IsZero() {
		// Statuses that lasted the hold until this view ended them are
		// taken in first.
		out = t.observe(t.last, at, false)
	}
	t.last = s
	return append(out, t.observe(s, at, true)...)
}

// Tick returns the alerts of statuses of the latest snapshot that have
// lasted the hold by now, with no new view since. Call it on a timer,
// only after every view up to now went through Observe.
func (t *Tracker) Tick(now time.Time) []Alert {
	if t.started.IsZero() {
		return nil
	}
	return t.observe(t.last, now, false)
}

func (t *Tracker) observe(s Snapshot, now time.Time, update bool) []Alert {
	if t.started.IsZero() {
		t.started = now
	}
	s, since := t.held(s, now, update)
	t.verdicts = s.Verdicts
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
		at := now
		if st, ok := since[n]; ok {
			at = st
		}
		live := alive(v.Status)
		switch {
		case !live && t.wasLive[n]:
			t.downBoot[n] = t.boots[n]
			delete(t.back, n)
		case live && t.seen[n] && !t.wasLive[n]:
			if t.boots[n] == t.downBoot[n] {
				t.back[n] = at
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
		At:       since,
	})
	t.known = next
	return alerts
}

// Suppressed returns how many statuses raised no alert so far, by reason
// (ReasonNotHeld, ReasonSingleObserver).
func (t *Tracker) Suppressed() map[Reason]uint64 { return maps.Clone(t.suppressed) }

// Verdicts returns the verdicts the last Observe took in: the snapshot's,
// or with a hold (SetHold) those that lasted it. Elect with these, so that
// the cluster's leader and the alerts follow the same statuses: a member
// that comes back counts as live when its return is reported, not before
// (when the alerts of its outage would go out on their own). Do not modify.
func (t *Tracker) Verdicts() map[string]health.Verdict { return t.verdicts }

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
	// A node that was paused is up, in the others' eyes, since it resumed
	// (they saw it offline and back): it must agree with them, or it and
	// the runner-up would both think themselves the sender.
	if r := t.last.ResumedAt; r.After(out[t.self]) {
		out[t.self] = r
	}
	return out
}
