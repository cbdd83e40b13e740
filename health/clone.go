package health

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// IdentityClash describes a member seen running as two incarnations at
// once: two hosts publish with its key (docs/liveness.md, "Cloned
// identities"). Both hosts' reports are taken, so the clone cannot silence
// the real one; what either says is the word of a key that two hosts hold.
type IdentityClash struct {
	// BootIDs are the two incarnations seen publishing, the newer first.
	BootIDs []uint64 `json:"boot_ids"`
	// Addrs are the remote addresses of this node's connections to the
	// member's peer ID when the clash was last seen (two or more point at
	// the two hosts; empty when the messages came through other members).
	Addrs []string `json:"addrs,omitempty"`
	// Since is when this node first saw the clash; LastSeen when it last
	// had a message that showed it. It ends after ClashHold without one.
	Since    time.Time `json:"since"`
	LastSeen time.Time `json:"last_seen"`
}

// ClashHold is how long a member's identity clash stays active after the
// last message that showed it, given the report refresh period: three
// refresh periods (6 min by default), so the clash lasts while both hosts
// run even when nothing changes and each only refreshes its report.
func ClashHold(reportRefresh time.Duration) time.Duration { return 3 * reportRefresh }

// memberClash is what the engine holds of a cloned member (owned by the
// engine goroutine). The member's newest incarnation is the one held in
// engineState.reports and reportAt as for any member; other is the older
// one that keeps publishing, with its latest report. The report that
// counts for the member is the merge of both (mergeReports).
type memberClash struct {
	IdentityClash
	other         uint64
	otherReportAt p2p.Position
	otherReport   map[string]*pb.PeerObservation
	// newest is the newest incarnation's own latest report (before the
	// merge).
	newest map[string]*pb.PeerObservation
}

// active tells whether the clash is still under way at now.
func (c *memberClash) active(now time.Time, hold time.Duration) bool {
	return c != nil && now.Sub(c.LastSeen) < hold
}

// clashSeen records that a message of node showed a clash at at, and
// raises an identity error event and counts it when the clash is new.
func (s *engineState) clashSeen(node string, cl *p2p.Clash, at time.Time) {
	c := s.clones[node]
	if !c.active(at, ClashHold(s.e.cfg.ReportRefresh)) {
		c = &memberClash{IdentityClash: IdentityClash{Since: at}}
		// The report held so far is one of the two incarnations'.
		switch held := s.reportAt[node]; held.Boot {
		case cl.Other:
			c.newest = s.reports[node]
		case cl.Boot:
			c.other, c.otherReportAt, c.otherReport = cl.Boot, held, s.reports[node]
		}
		s.clones[node] = c
		s.e.countMemberClash(node)
		msg := fmt.Sprintf("%s runs as two hosts with one key: incarnations %d and %d publish at once", node, cl.Other, cl.Boot)
		if len(cl.Addrs) > 1 {
			msg += " (connections to its peer ID from " + strings.Join(cl.Addrs, ", ") + ")"
		}
		msg += ". Both are taken, so neither silences the other, but either may be the impostor: stop the copy or give it its own key."
		s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: node, Kind: "identity", Severity: SeverityError, Message: msg})
		s.e.log.Error("a member runs as two hosts with one key", "node", node, "boot", cl.Boot, "other_boot", cl.Other, "addrs", cl.Addrs)
	}
	c.LastSeen = at
	c.BootIDs = []uint64{cl.Other, cl.Boot}
	if len(cl.Addrs) > 0 {
		c.Addrs = slices.Clone(cl.Addrs)
	}
	if c.other != cl.Boot {
		c.other, c.otherReportAt, c.otherReport = cl.Boot, p2p.Position{}, nil
	}
}

// clashReport takes in a Report of a member under an active clash. A report of the older incarnation
// goes beside the newest one's; a report of a newer incarnation than the
// one held turns the held one into the older (the two outbid each other
// with refutes).
func (s *engineState) clashReport(c *memberClash, node string, h *pb.Header, obs map[string]*pb.PeerObservation) {
	p := p2p.PositionOf(h)
	switch {
	case h.GetBootId() == c.other:
		if c.otherReport != nil && !p.After(c.otherReportAt) {
			return
		}
		c.otherReportAt, c.otherReport = p, obs
	default:
		held, ok := s.reportAt[node]
		if !newer(s.reportAt, node, h) {
			return
		}
		if ok && p.Boot > held.Boot && c.newest != nil {
			c.other, c.otherReportAt, c.otherReport = held.Boot, held, c.newest
		}
		c.newest = obs
	}
	s.reports[node] = mergeReports(c.newest, c.otherReport)
}

// endClashes drops the clashes that ended at now: the member's newest
// incarnation's report is the one that counts again.
func (s *engineState) endClashes(now time.Time) {
	hold := ClashHold(s.e.cfg.ReportRefresh)
	for node, c := range s.clones {
		if c.active(now, hold) {
			continue
		}
		delete(s.clones, node)
		if c.newest != nil {
			s.reports[node] = c.newest
		}
		s.dirty = true
		s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: node, Kind: "identity", Severity: SeverityInfo,
			Message: fmt.Sprintf("%s no longer runs as two hosts: no message of a second incarnation for %s", node, hold)})
	}
}

// clashView is the view's copy of node's active clash, nil when none.
func (s *engineState) clashView(node string, now time.Time) *IdentityClash {
	c := s.clones[node]
	if !c.active(now, ClashHold(s.e.cfg.ReportRefresh)) {
		return nil
	}
	v := c.IdentityClash
	v.BootIDs, v.Addrs = slices.Clone(v.BootIDs), slices.Clone(v.Addrs)
	return &v
}

// mergeReports is the report that counts for a member whose two hosts
// report a and b. Per subject, an opinion of one host stands when the other
// has none (a copy started elsewhere may not see every member, and never
// erases what the real host sees); when both have one and they agree, the
// richer observation (connected) stands; when they disagree (one finds the
// subject reachable, the other suspects it) the member abstains: the
// subject gets no opinion from it. Neither host can then turn the member's
// vote against the other's: a copy can at most cancel the one vote of the
// member it copies, never make a member look down or keep a dead one up.
func mergeReports(a, b map[string]*pb.PeerObservation) map[string]*pb.PeerObservation {
	out := make(map[string]*pb.PeerObservation, max(len(a), len(b)))
	for k, o := range a {
		out[k] = o
	}
	for k, o := range b {
		out[k] = mergeObservation(k, out[k], o)
	}
	return out
}

// mergeObservation is mergeReports for one subject.
func mergeObservation(subject string, a, b *pb.PeerObservation) *pb.PeerObservation {
	opA, opB := a.GetReachability(), b.GetReachability()
	switch {
	case opB == pb.Reachability_REACHABILITY_NONE && a != nil:
		return a
	case opA == pb.Reachability_REACHABILITY_NONE:
		return b
	case opA != opB:
		return &pb.PeerObservation{NodeId: subject, Reachability: pb.Reachability_REACHABILITY_NONE}
	case b.GetConnected() && !a.GetConnected():
		return b
	}
	return a
}
