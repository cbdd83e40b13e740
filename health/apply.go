package health

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// heard records evidence of node at at.
func (s *engineState) heard(node string, at time.Time) {
	if node == s.e.cfg.Self {
		return
	}
	if at.After(s.lastHeard[node]) {
		s.lastHeard[node] = at
	}
}

// answered records this node's ping of node, answered at at after rtt.
func (s *engineState) answered(node string, rtt time.Duration, at time.Time) {
	s.rtt[node] = rtt
	s.evidence(node, at)
}

// evidence records a ping (answered, or a request) of node at at. When it
// changes no opinion of this node, it marks the state evidenceOnly, so Run
// does not recompute consensus for it.
func (s *engineState) evidence(node string, at time.Time) {
	now := s.e.cfg.Now()
	before := OwnOpinion(s.lastHeard[node], s.downSince[node], s.aware.ResumedAt, now, s.suspectAfter)
	s.heard(node, at)
	after := OwnOpinion(s.lastHeard[node], s.downSince[node], s.aware.ResumedAt, now, s.suspectAfter)
	s.evidenceOnly = before == after
}

// onMessage takes in one admitted message, received at at (synced messages
// are older by their age).
func (s *engineState) onMessage(m p2p.Message, at time.Time) {
	h := m.Env.GetHeader()
	node := h.GetNodeId()
	if node == s.e.cfg.Self {
		if !m.Local {
			s.refute(m)
		}
		return
	}
	// Every signed message of a member is evidence that it ran when it
	// sent it; a synced one older than suspect_after proves nothing now
	// (a joiner would suspect a member it has simply not pinged yet).
	if m.Age <= s.suspectAfter {
		s.heard(node, at.Add(-m.Age))
	}
	if m.Clash != nil {
		s.clashSeen(node, m.Clash, at)
	}
	clash := s.clones[node]
	if !clash.active(at, ClashHold(s.e.cfg.ReportRefresh)) {
		clash = nil
	}
	switch b := m.Env.GetBody().(type) {
	case *pb.Envelope_Heartbeat:
		if m.Clash != nil || !newer(s.hbAt, node, h) {
			// The older incarnation's announce of a cloned member is
			// not taken: the member's metadata (and leaving) is its
			// newest incarnation's.
			return
		}
		s.heartbeat0[node] = b.Heartbeat
		s.boots[node] = h.GetBootId()
		s.leaving[node] = b.Heartbeat.GetState() == pb.State_STATE_LEAVING
		s.checkTiming(node, b.Heartbeat)
	case *pb.Envelope_Report:
		obs := make(map[string]*pb.PeerObservation, len(b.Report.GetPeers()))
		for _, o := range b.Report.GetPeers() {
			obs[o.GetNodeId()] = o
		}
		if clash != nil {
			s.clashReport(clash, node, h, obs)
			return
		}
		if !newer(s.reportAt, node, h) {
			return
		}
		s.reports[node] = obs
	case *pb.Envelope_Delivered:
		if s.e.cfg.OnDelivered != nil {
			s.e.cfg.OnDelivered(node, b.Delivered.GetAlertId())
		}
	case *pb.Envelope_Monitors:
		if !newer(s.monAt, node, h) || s.e.cfg.OnMonitors == nil {
			return
		}
		s.e.cfg.OnMonitors(node, b.Monitors, at.Add(-m.Age))
	}
}

// newer records h's position for node in held and reports whether it is
// newer than the one held before.
func newer(held map[string]p2p.Position, node string, h *pb.Header) bool {
	p := p2p.PositionOf(h)
	if q, ok := held[node]; ok && !p.After(q) {
		return false
	}
	held[node] = p
	return true
}

// A node refutes at most maxRefutes times in refuteWindow; more means
// another host publishes with its key.
const (
	maxRefutes   = 3
	refuteWindow = time.Minute
)

// identityClash rate-limits refutes (owned by the engine goroutine).
type identityClash struct {
	times    []time.Time // the latest refutes, within refuteWindow
	reported bool        // the clash of this window was reported
}

// refuted records a refute at now and tells whether the limit is reached
// (the refute must not happen).
func (c *identityClash) refuted(now time.Time) bool {
	kept := c.times[:0]
	for _, t := range c.times {
		if now.Sub(t) < refuteWindow {
			kept = append(kept, t)
		}
	}
	c.times = kept
	if len(c.times) >= maxRefutes {
		return true
	}
	c.reported = false
	c.times = append(c.times, now)
	return false
}

// clashing tells whether a clash is under way at now.
func (c *identityClash) clashing(now time.Time) bool {
	return c.reported && len(c.times) > 0 && now.Sub(c.times[len(c.times)-1]) < refuteWindow
}

// refute handles an admitted message about this node. Its own messages come
// back at the position it gave them; a message at a newer position was not
// sent by this process: a clone with the same key, a forgery, or a message
// of an earlier run whose incarnation this run did not get above (its
// counter was lost). Peers admit nothing of this node's below that
// position, so it jumps its incarnation above it (memberlist's refute) and
// announces and reports at once: the newer position wins everywhere.
func (s *engineState) refute(m p2p.Message) {
	h := m.Env.GetHeader()
	kind, ok := p2p.KindOf(m.Env)
	if !ok {
		return
	}
	seen := p2p.PositionOf(h)
	boot, jump := p2p.Refute(s.own(kind), seen)
	if !jump {
		return
	}
	now := s.e.cfg.Now()
	if s.clash.refuted(now) {
		// Another host keeps publishing with this node's key (a cloned
		// key file, two nodes started from one config dir). Jumping on
		// would make the two outbid each other without end: stop, and
		// say so loudly.
		if !s.clash.reported {
			s.clash.reported = true
			s.e.Clashes.Add(1)
			msg := fmt.Sprintf("another host is publishing with this node's key (%d newer messages about this node in %s): stop the other host or give it its own key; this node stops refuting until then",
				maxRefutes, refuteWindow)
			s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: s.e.cfg.Self, Kind: "identity", Severity: SeverityError, Message: msg})
			s.e.log.Error("another host is publishing with this node's key", "refutes", maxRefutes, "window", refuteWindow)
		}
		return
	}
	s.boot = s.e.cfg.Incarnation(boot)
	s.e.boot.Store(s.boot)
	s.seq = [4]uint64{}
	s.e.Refutes.Add(1)
	msg := fmt.Sprintf("a message signed with this node's key at position %d/%d, newer than its own, was received; this node moved to incarnation %d. If this repeats, another host uses this node's key.",
		seen.Boot, seen.Seq, s.boot)
	s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: s.e.cfg.Self, Kind: "identity", Severity: SeverityWarning, Message: msg})
	s.e.log.Warn("refuted a newer message about this node", "seen_boot", seen.Boot, "seen_seq", seen.Seq, "new_boot", s.boot)
	if s.left {
		return
	}
	s.send(s.announce(pb.State_STATE_RUNNING))
	s.send(s.report())
}

func (s *engineState) onLink(node string, l p2p.Link, at time.Time) {
	if l.DialFailed {
		if !s.lastHeard[node].IsZero() {
			s.downSince[node] = at
		}
		l = p2p.Link{}
	}
	if l.Stale {
		// Connected on paper, but pings do not flow: the link is down.
		l = p2p.Link{Stale: true}
	}
	if l.Connected {
		delete(s.downSince, node)
		if !s.link[node].Connected {
			// A member (re)connected: publish the announce and a report
			// again a moment later, once GossipSub has learnt the topic
			// peers. Sync hands only the latest messages of the two ends
			// to each other, and gossip forwards nothing learnt by sync,
			// so members behind NAT (reached only through a relay) would
			// otherwise learn each other's metadata at the next refresh.
			s.republishAt = at.Add(republishDelay)
		}
	}
	s.link[node] = l
	connected := 0
	for _, l := range s.link {
		if l.Connected {
			connected++
		}
	}
	s.e.connected.Store(int64(connected))
	s.evaluate()
}

// setMembers replaces the member list. A member whose key (peer ID) changed
// starts clean: what was held of it was signed with the old key.
func (s *engineState) setMembers(members []Member) {
	old := make(map[string]Member, len(s.members))
	for _, m := range s.members {
		old[m.NodeID] = m
	}
	for _, m := range members {
		if o, ok := old[m.NodeID]; ok && o.PeerID != m.PeerID {
			s.forget(m.NodeID)
		}
	}
	s.members = slices.Clone(members)
	clear(s.peerIDs)
}

// forget drops everything held of node.
func (s *engineState) forget(node string) {
	delete(s.lastHeard, node)
	delete(s.heartbeat0, node)
	delete(s.boots, node)
	delete(s.leaving, node)
	delete(s.timingSeen, node)
	delete(s.reports, node)
	delete(s.hbAt, node)
	delete(s.reportAt, node)
	delete(s.monAt, node)
	delete(s.rtt, node)
	delete(s.link, node)
	delete(s.downSince, node)
	delete(s.clones, node)
}

// checkTiming warns, once per change, when a member announces a timing
// other than this node's: their copies of config.yml disagree, so they
// suspect at different speeds.
func (s *engineState) checkTiming(node string, hb *pb.Heartbeat) {
	got := [2]uint32{hb.GetHeartbeatMs(), hb.GetSuspectAfterMs()}
	if got[0] == 0 || got == s.timingSeen[node] {
		return
	}
	s.timingSeen[node] = got
	own := [2]uint32{uint32(s.heartbeatEvery.Milliseconds()), uint32(s.suspectAfter.Milliseconds())}
	if got == own {
		return
	}
	ms := func(v uint32) string { return (time.Duration(v) * time.Millisecond).String() }
	msg := fmt.Sprintf("%s uses timing heartbeat %s, suspect_after %s; this node uses %s, %s: make timing the same in every copy of config.yml",
		node, ms(got[0]), ms(got[1]), ms(own[0]), ms(own[1]))
	s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: node, Kind: "config", Severity: SeverityWarning, Message: msg})
	s.e.log.Warn("timing differs between members", "node", node,
		"heartbeat", ms(got[0]), "suspect_after", ms(got[1]), "own_heartbeat", ms(own[0]), "own_suspect_after", ms(own[1]))
}
