package health

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshmon/meshmon/p2p/pb"
)

// ownObservations computes this node's observation of every other member.
func (s *engineState) ownObservations(now time.Time) map[string]*pb.PeerObservation {
	out := make(map[string]*pb.PeerObservation, len(s.members))
	for _, m := range s.members {
		if m.NodeID == s.e.cfg.Self {
			continue
		}
		op := OwnOpinion(s.lastHeard[m.NodeID], s.downSince[m.NodeID], s.aware.ResumedAt, now, s.suspectAfter)
		l := s.link[m.NodeID]
		o := &pb.PeerObservation{
			NodeId:       m.NodeID,
			Reachability: pb.Reachability(op),
			Connected:    l.Connected,
			Relayed:      l.Relayed,
		}
		if l.Connected {
			o.RttUs = s.rttUs(m.NodeID)
		}
		if t := s.lastHeard[m.NodeID]; !t.IsZero() {
			o.LastHeardMs = uint32(min(max(now.Sub(t).Milliseconds(), 0), 1<<31))
		}
		out[m.NodeID] = o
	}
	return out
}

// rttUs is the pair's RTT to node in µs: this node's own measurement when it
// pings node, else the one node reported of this node (node pings it; a
// round trip has one length).
func (s *engineState) rttUs(node string) uint32 {
	if d := s.rtt[node]; d > 0 {
		return uint32(min(d.Microseconds(), 1<<31))
	}
	return s.reports[node][s.e.cfg.Self].GetRttUs()
}

// consensus runs Consensus over own (this node's observations at now,
// from ownObservations) and the reports held.
func (s *engineState) consensus(now time.Time, own map[string]*pb.PeerObservation) map[string]Verdict {
	in := ConsensusInput{
		Self:    s.e.cfg.Self,
		Members: s.memberIDs(),
		Leaving: s.leaving,
		Own:     make(map[string]Opinion, len(own)),
		Reports: make(map[string]map[string]Opinion, len(s.reports)),

		Recovering: s.aware.Recovering(now, s.suspectAfter),
	}
	for k, o := range own {
		in.Own[k] = Opinion(o.GetReachability())
	}
	for obs, r := range s.reports {
		m := make(map[string]Opinion, len(r))
		for k, o := range r {
			m[k] = Opinion(o.GetReachability())
		}
		in.Reports[obs] = m
	}
	return Consensus(in)
}

// evaluate publishes a report if this node's opinions changed, recomputes
// consensus, raises events for transitions and stores a new view.
func (s *engineState) evaluate() { s.evaluateFor(false) }

// evaluateSoon is evaluate right after an input, between ticks (Run): only
// bad news is published at once (an own opinion newly suspect, so a crash
// travels in one round trip); any other change of this node's opinions
// waits for the tick, so that a burst of good news (links coming up at
// start) still makes one report, not one per link.
func (s *engineState) evaluateSoon() { s.evaluateFor(true) }

// newlySuspect tells whether the opinion published as was is now suspect
// and was not.
func newlySuspect(was, now publishedObs) bool {
	return now.op == OpinionSuspect && was.op != OpinionSuspect
}

func (s *engineState) evaluateFor(urgentOnly bool) {
	now := s.e.cfg.Now()
	// The loop checked for a pause before this input, but this process
	// may have been stopped or starved since (a throttled cgroup runs in
	// bursts a second apart): judged at a now that came after such a
	// stop, every member would look silent.
	s.checkPause(now, evalEvery(s.heartbeatEvery))
	if !s.republishAt.IsZero() && !now.Before(s.republishAt) && s.out != nil {
		s.republishAt = time.Time{}
		if !s.left && !s.aware.Recovering(now, s.suspectAfter) {
			s.send(s.announce(pb.State_STATE_RUNNING))
			s.send(s.report())
		}
	}
	s.endClashes(now)
	own := s.ownObservations(now)
	changed, opinion, suspect := reportChange(s.published, own)
	// Between ticks (urgentOnly) only a new suspicion goes out; at a tick a
	// changed opinion goes out at once and link facts at the pace.
	due := suspect || (!urgentOnly && reportDue(opinion, s.reportSentAt, now))
	recovering := s.aware.Recovering(now, s.suspectAfter)
	if changed && due && !s.left && !recovering {
		// While recovering from a pause this node publishes nothing: its
		// withdrawn opinions ("none") would only erase what it said before,
		// which still stands. The first evaluation after it recovered
		// publishes whatever changed.
		s.send(s.report())
		s.dirty = true
	} else if changed && (urgentOnly || s.left || recovering) {
		s.dirty = true
	}
	// A change of link facts alone held back by the pace does not make the
	// view dirty again at every tick: the input that changed it did.
	if !s.dirty {
		// Time alone can change freshness; skip rebuilding an unchanged view.
		s.dirty = s.timeSensitive(now) || (s.viewStale && now.Sub(s.viewAt) >= viewRefresh)
	}
	if !s.dirty || now.Before(s.rebuildAt) {
		// Not due, or the last rebuild was costly: the state stays dirty
		// and is rebuilt once rebuildAt has come.
		return
	}
	s.dirty = false
	cpu0, cpuKnown := s.cpuTime()
	verdicts := s.consensus(now, own)
	for _, m := range s.members {
		v := verdicts[m.NodeID]
		old, seen := s.status[m.NodeID]
		if !seen {
			old = StatusUnknown
		}
		if recovering && v.Status == StatusUnknown && old != StatusUnknown {
			// No news is no news: a node recovering from a pause holds
			// what it knew rather than forget a member it has not heard
			// again yet.
			v.Status = old
			verdicts[m.NodeID] = v
		}
		if v.Status != old {
			s.status[m.NodeID] = v.Status
			s.transition(m.NodeID, old, v)
		}
	}
	s.storeView(s.buildView(now, own, verdicts))
	s.spaceRebuilds(now, cpu0, cpuKnown)
}

// cpuTime is EngineConfig.CPUTime, false without one.
func (s *engineState) cpuTime() (time.Duration, bool) {
	if s.e.cfg.CPUTime == nil {
		return 0, false
	}
	return s.e.cfg.CPUTime()
}

// rebuildSpacing is how many times its own cost the engine waits after a
// rebuild of consensus and view before the next: it keeps the rebuilds
// of a network whose every member runs, which cost N² (1.8 s at 1,000
// members on this 2-core machine, 0.1 s at 250), within a fifth of a
// core. A rebuild of a few members costs microseconds, so the spacing
// never delays one there.
const rebuildSpacing = 4

// spaceRebuilds is called after a rebuild that started at start, when the
// process had used cpu0 of CPU (if cpuKnown): it spaces the next by
// rebuildSpacing times its cost, and moves the pause check's reference past
// it, since the engine's own work is no pause of this node (a rebuild
// longer than pauseLimit would otherwise make it withdraw its suspicions
// after every rebuild, and flap). Its cost is the CPU the process used
// meanwhile, at most the wall time: a rebuild during which the process
// hardly ran (a throttled cgroup stopped it) cost little, and the stop is
// left for the pause check to see.
func (s *engineState) spaceRebuilds(start time.Time, cpu0 time.Duration, cpuKnown bool) {
	end := s.e.cfg.Now()
	wall := end.Sub(start)
	if wall <= 0 {
		return
	}
	cost := wall
	if cpu1, ok := s.cpuTime(); ok && cpuKnown {
		cost = min(wall, max(cpu1-cpu0, 0))
	}
	s.rebuildAt = end.Add(rebuildSpacing * cost)
	if worked(cost, wall) && !s.lastTick.IsZero() && end.After(s.lastTick) {
		s.lastTick = end
	}
}

// worked tells whether a stretch of wall time in which the process used
// cost of CPU was work rather than a stop: at least half of it was spent
// running.
func worked(cost, wall time.Duration) bool { return 2*cost >= wall }

// republishDelay is how long after a member (re)connected this node
// publishes its announce and a report again (a burst of connections
// coalesces into one).
const republishDelay = time.Second

// viewRefresh is how often the view is rebuilt when only RTTs and evidence
// ages changed.
const viewRefresh = time.Second

// timeSensitive reports whether some evidence crossed the suspect_after
// boundary since the last evaluation window, or this node's recovery from
// a pause ended.
func (s *engineState) timeSensitive(now time.Time) bool {
	window := evalEvery(s.heartbeatEvery) * 2
	crossed := func(t time.Time) bool {
		age := now.Sub(t)
		return !t.IsZero() && age > s.suspectAfter && age <= s.suspectAfter+window
	}
	if crossed(s.aware.ResumedAt) {
		return true
	}
	for _, t := range s.lastHeard {
		if crossed(t) {
			return true
		}
	}
	return false
}

func (s *engineState) transition(node string, from Status, v Verdict) {
	sev := SeverityInfo
	switch {
	case v.Status == StatusOffline && v.Confirmed:
		sev = SeverityError
	case v.Status == StatusOffline, v.Status == StatusDegraded:
		sev = SeverityWarning
	}
	msg := node + " is " + string(v.Status)
	if !v.Confirmed && v.Status != StatusUnknown && node != s.e.cfg.Self {
		msg += " (unconfirmed: only this node's opinion)"
	}
	s.e.cfg.Events.Add(Event{
		Network: s.e.cfg.NetworkID, Node: node, Kind: "status", Severity: sev,
		Message: msg, From: from, To: v.Status, Confirmed: v.Confirmed,
	})
	s.e.log.Info("status changed", "node", node, "from", string(from), "to", string(v.Status),
		"agreed_by", v.Agreeing(), "live_observers", v.Live, "confirmed", v.Confirmed)
}

// localHealth is this node's own health as an observer and publisher.
func (s *engineState) localHealth(now time.Time) LocalHealth {
	l := s.localState(now)
	if r := s.aware.ReturnedAt; !r.IsZero() {
		l.ReturnedAt = &r
	}
	return l
}

// localState is localHealth without ReturnedAt.
func (s *engineState) localState(now time.Time) LocalHealth {
	if s.clash.clashing(now) {
		return LocalHealth{Healthy: false, Since: s.clash.times[0],
			Reason: "another host is publishing with this node's key: stop it or give it its own key"}
	}
	if s.aware.Recovering(now, s.suspectAfter) {
		return LocalHealth{Healthy: false, Since: s.aware.ResumedAt,
			Reason: "recovering: " + s.aware.Reason + "; suspicions withdrawn until " + s.suspectAfter.String() + " of fresh evidence"}
	}
	if at, err := s.e.publishErrs.failing(); err != nil {
		return LocalHealth{Healthy: false, Since: at, Reason: "cannot publish: " + err.Error()}
	}
	if since, alone := s.offTopic(now); alone {
		return LocalHealth{Healthy: false, Since: since,
			Reason: fmt.Sprintf("connected to members but none is on the network's gossip topic for %s: this node's gossip reaches nobody (its messages go only by sync push to members connected directly)", s.suspectAfter)}
	}
	if since, deaf := s.deaf(now); deaf {
		return LocalHealth{Healthy: false, Since: since,
			Reason: fmt.Sprintf("connected to members but no evidence of any member for %s", s.suspectAfter)}
	}
	return LocalHealth{Healthy: true, Since: s.aware.ResumedAt}
}

// topicPeers is implemented by a Publisher that knows its topic's peers
// (p2p.Network).
type topicPeers interface{ Peers() []peer.ID }

// offTopic tells whether this node has had a connection to some member but
// no peer on the network's gossip topic for suspect_after, and since when.
func (s *engineState) offTopic(now time.Time) (time.Time, bool) {
	tp, ok := s.e.pub.(topicPeers)
	if !ok || s.e.connected.Load() == 0 || len(tp.Peers()) > 0 {
		s.offTopicSince = time.Time{}
		return time.Time{}, false
	}
	if s.offTopicSince.IsZero() {
		s.offTopicSince = now
	}
	return s.offTopicSince, now.Sub(s.offTopicSince) > s.suspectAfter
}

// deaf tells whether this node has a connection to some member but no
// evidence of any member within suspect_after, and since when.
func (s *engineState) deaf(now time.Time) (time.Time, bool) {
	connected := false
	for _, l := range s.link {
		if l.Connected {
			connected = true
			break
		}
	}
	if !connected {
		return time.Time{}, false
	}
	var latest time.Time
	for _, t := range s.lastHeard {
		if t.After(latest) {
			latest = t
		}
	}
	ref := latest
	if s.started.After(ref) {
		ref = s.started
	}
	if now.Sub(ref) <= s.suspectAfter {
		return time.Time{}, false
	}
	return ref, true
}
