package health

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// engineState is owned by Run's goroutine.
type engineState struct {
	e       *Engine
	out     chan<- *pb.Envelope
	members []Member
	// clusters are announced.
	clusters [][]byte
	// boot is this node's current incarnation; seq counts per kind within it.
	boot  uint64
	seq   [4]uint64
	dirty bool
	// evidenceOnly is set by an input that changed no opinion (a ping of
	// a member already reachable); viewStale then says the view's RTTs and
	// ages are behind, and viewAt is when the view was last built.
	evidenceOnly bool
	viewStale    bool
	viewAt       time.Time
	// rebuildAt is when consensus and the view may be rebuilt again
	// (spaceRebuilds; zero: at once).
	rebuildAt time.Time
	// left is set once this node announced that it leaves: no running
	// announce may follow, or peers would take it back as running.
	left bool

	// heartbeatEvery and suspectAfter are the network's timing, changed in
	// place by SetTiming.
	heartbeatEvery, suspectAfter time.Duration
	timingChanged                bool

	// aware is this node's own health; lastTick is when the evaluation
	// tick last ran.
	aware    Awareness
	lastTick time.Time
	// clash rate-limits refutes (another host with this node's key).
	clash identityClash
	// republishAt is when to publish the announce and a report again after
	// a member (re)connected (zero: not due).
	republishAt time.Time
	// started is when Run started; offTopicSince when this node was first
	// seen connected to members with no peer on the topic (zero: it is not).
	started, offTopicSince time.Time

	// lastHeard is this node's latest evidence of each member.
	lastHeard  map[string]time.Time
	heartbeat0 map[string]*pb.Heartbeat
	boots      map[string]uint64
	leaving    map[string]bool
	// timingSeen is the timing each member last announced, to warn once
	// per change when it differs from this node's.
	timingSeen map[string][2]uint32
	reports    map[string]map[string]*pb.PeerObservation
	// hbAt and reportAt are the positions of the announce and report held
	// per member: gossip and sync deliver concurrently, so an older
	// message can arrive after a newer one and must not replace it.
	hbAt, reportAt map[string]p2p.Position
	// monAt is the position of the monitor report held per member.
	monAt map[string]p2p.Position

	// clones are the members seen running as two incarnations at once.
	clones map[string]*memberClash

	rtt       map[string]time.Duration
	link      map[string]p2p.Link
	downSince map[string]time.Time

	published map[string]publishedObs // own observations last published
	// reportSentAt is when this node last published a Report (zero: never),
	// for the pace of Reports with no urgent change (reportPace).
	reportSentAt time.Time
	status       map[string]Status
	// peerIDs caches the members' peer IDs as text: base58 encoding each
	// for every view rebuilt was a visible share of a 1,000-member
	// node's CPU. Reset with the member list.
	peerIDs map[peer.ID]string
}

// peerIDString is p.String(), cached.
func (s *engineState) peerIDString(p peer.ID) string {
	if p == "" {
		return ""
	}
	str, ok := s.peerIDs[p]
	if !ok {
		str = p.String()
		s.peerIDs[p] = str
	}
	return str
}

// publishedObs is what of an observation, when it changes, makes a new
// Report: the opinion, the link facts, and whether an RTT is known (the
// first RTT of a link is worth a report, so every member can show it; later
// RTTs ride on the next report).
type publishedObs struct {
	op        Opinion
	connected bool
	relayed   bool
	rttKnown  bool
}

func observed(o *pb.PeerObservation) publishedObs {
	return publishedObs{Opinion(o.GetReachability()), o.GetConnected(), o.GetRelayed(), o.GetRttUs() > 0}
}

func newEngineState(e *Engine, boot uint64) *engineState {
	return &engineState{
		e:              e,
		members:        slices.Clone(e.cfg.Members),
		clusters:       cloneClusters(e.cfg.Clusters),
		boot:           boot,
		heartbeatEvery: e.cfg.Heartbeat,
		suspectAfter:   e.cfg.SuspectAfter,
		lastHeard:      map[string]time.Time{},
		heartbeat0:     map[string]*pb.Heartbeat{},
		boots:          map[string]uint64{},
		leaving:        map[string]bool{},
		timingSeen:     map[string][2]uint32{},
		reports:        map[string]map[string]*pb.PeerObservation{},
		hbAt:           map[string]p2p.Position{},
		reportAt:       map[string]p2p.Position{},
		monAt:          map[string]p2p.Position{},
		clones:         map[string]*memberClash{},
		rtt:            map[string]time.Duration{},
		link:           map[string]p2p.Link{},
		downSince:      map[string]time.Time{},
		published:      map[string]publishedObs{},
		status:         map[string]Status{},
		peerIDs:        map[peer.ID]string{},
	}
}

var errQueueFull = errors.New("publish queue full")

func (s *engineState) send(env *pb.Envelope) {
	select {
	case s.out <- env:
	default:
		s.e.publishErrs.failed(PublishQueueFull, errQueueFull)
	}
}

func (s *engineState) header(k p2p.Kind) *pb.Header {
	s.seq[k]++
	return &pb.Header{
		NetworkId:  s.e.cfg.NetworkID,
		NodeId:     s.e.cfg.Self,
		BootId:     s.boot,
		Seq:        s.seq[k],
		SentUnixMs: s.e.cfg.Now().UnixMilli(),
	}
}

// own is the position of this node's latest message of kind k.
func (s *engineState) own(k p2p.Kind) p2p.Position { return p2p.Position{Boot: s.boot, Seq: s.seq[k]} }

// announce builds this node's metadata message (a Heartbeat on the wire).
func (s *engineState) announce(state pb.State) *pb.Envelope {
	if state == pb.State_STATE_LEAVING {
		s.left = true
	}
	return &pb.Envelope{
		Header: s.header(p2p.KindHeartbeat),
		Body: &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{
			State: state, Version: s.e.cfg.Version, Clusters: s.clusters, Reachability: s.e.cfg.Reachability,
			HeartbeatMs:    uint32(s.heartbeatEvery.Milliseconds()),
			SuspectAfterMs: uint32(s.suspectAfter.Milliseconds()),
		}},
	}
}

// report builds this node's Report. A member never heard and not
// connected is left out: its observation says nothing (no opinion, no
// link, no RTT), a receiver reads a missing entry the same way, and in a
// large config whose members mostly do not run, listing them all would
// make every report as long as node_config.
func (s *engineState) report() *pb.Envelope {
	now := s.e.cfg.Now()
	s.reportSentAt = now
	obs := s.ownObservations(now)
	r := &pb.Report{Peers: make([]*pb.PeerObservation, 0, len(obs))}
	for _, k := range slices.Sorted(maps.Keys(obs)) {
		o := obs[k]
		s.published[k] = observed(o)
		if s.lastHeard[k].IsZero() && observed(o) == (publishedObs{}) {
			continue
		}
		r.Peers = append(r.Peers, o)
	}
	return &pb.Envelope{Header: s.header(p2p.KindReport), Body: &pb.Envelope_Report{Report: r}}
}

// storeView publishes nv together with the announces it was built from.
func (s *engineState) storeView(nv *NetworkView) {
	s.viewAt, s.viewStale = nv.UpdatedAt, false
	hbs := maps.Clone(s.heartbeat0)
	s.e.heartbeats.Store(&hbs)
	s.e.view.Store(nv)
	if s.e.cfg.OnView != nil {
		s.e.cfg.OnView(nv)
	}
}

func (s *engineState) memberIDs() []string {
	ids := make([]string, len(s.members))
	for i, m := range s.members {
		ids[i] = m.NodeID
	}
	return ids
}

// checkPause runs before the state takes any input: when the evaluation
// tick is overdue, or the wall clock moved apart from the monotonic one,
// this node was not running on time, and it starts recovering (Awareness).
func (s *engineState) checkPause(now time.Time, tick time.Duration) {
	if s.lastTick.IsZero() {
		return
	}
	mono := now.Sub(s.lastTick)
	wall := now.Round(0).Sub(s.lastTick.Round(0))
	paused, reason := Lag(mono, wall, tick, s.heartbeatEvery)
	if !paused {
		return
	}
	// One pause is counted once: the next check compares with now.
	s.lastTick = now
	s.aware.Paused(now, reason)
	if mono >= s.suspectAfter {
		s.aware.ReturnedAt = now
	}
	s.e.Pauses.Add(1)
	s.dirty = true
	s.e.log.Warn("this node was not running on time: withdrawing its silence-based suspicions for suspect_after",
		"reason", reason, "suspect_after", s.suspectAfter)
}
