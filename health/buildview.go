package health

import (
	"slices"
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// buildView builds the view from own (this node's observations at now),
// the reports held and the verdicts. Its cost is linear in the members
// plus the observations held: a link nothing is known of (status
// unknown) is left out of Connections, so a config of many members that
// mostly do not run has a view of N nodes, not N² links.
func (s *engineState) buildView(now time.Time, own map[string]*pb.PeerObservation, verdicts map[string]Verdict) *NetworkView {
	nv := &NetworkView{
		NetworkID: s.e.cfg.NetworkID,
		Self:      s.e.cfg.Self,
		Nodes:     make(map[string]*NodeView, len(s.members)),
		// An empty list, not null, for a network of one or when no link
		// is known.
		Connections: []Connection{},
		UpdatedAt:   now,
		Local:       s.localHealth(now),
	}
	obsOf := func(observer, subject string) *pb.PeerObservation {
		if observer == s.e.cfg.Self {
			return own[subject]
		}
		return s.reports[observer][subject]
	}
	for _, m := range s.members {
		v := verdicts[m.NodeID]
		n := &NodeView{
			NodeID:        m.NodeID,
			Status:        v.Status,
			Confirmed:     v.Confirmed,
			AgreedBy:      v.Agreeing(),
			LiveObservers: v.Live,
			PeerID:        s.peerIDString(m.PeerID),
			URL:           m.URL,
			KeyMissing:    m.KeyError,
			LastHeardMs:   -1,
			BootID:        s.boots[m.NodeID],
			Observers:     make(map[string]ObserverView, len(v.Observers)),
			IdentityClash: s.clashView(m.NodeID, now),
		}
		if v.Status == StatusOnline && len(v.Suspects) > 0 {
			n.SuspectedBy = v.Suspects
		}
		if m.NodeID == s.e.cfg.Self {
			n.Version = s.e.cfg.Version
			n.Reachability = s.e.cfg.Reachability
			n.LastHeardMs = 0
			n.BootID = s.boot
		} else {
			if hb := s.heartbeat0[m.NodeID]; hb != nil {
				n.Version = hb.GetVersion()
				n.Reachability = hb.GetReachability()
			}
			if t := s.lastHeard[m.NodeID]; !t.IsZero() {
				n.LastHeardMs = max(now.Sub(t).Milliseconds(), 0)
			}
		}
		for o, op := range v.Observers {
			ov := ObserverView{Opinion: op.String()}
			if ob := obsOf(o, m.NodeID); ob != nil {
				ov.RTTMs = float64(ob.GetRttUs()) / 1000
				ov.Connected = ob.GetConnected()
				ov.Relayed = ob.GetRelayed()
			}
			n.Observers[o] = ov
		}
		nv.Nodes[m.NodeID] = n
	}
	// An edge of a member that is offline, left or unknown is down: a dead
	// node's links are never shown with a stale RTT. Only pairs with an
	// observation can be anything but unknown: walk each observer's
	// observations (this node's own, the others' reports), in member
	// order.
	index := make(map[string]int, len(s.members))
	dead := make([]bool, len(s.members))
	for i, m := range s.members {
		index[m.NodeID] = i
		switch verdicts[m.NodeID].Status {
		case StatusOffline, StatusLeft, StatusUnknown:
			dead[i] = true
		}
	}
	type dst struct {
		i  int
		ob *pb.PeerObservation
	}
	var dsts []dst
	for ai, a := range s.members {
		obs := s.reports[a.NodeID]
		if a.NodeID == s.e.cfg.Self {
			obs = own
		}
		offline := verdicts[a.NodeID].Status == StatusOffline
		dsts = dsts[:0]
		for b, ob := range obs {
			if i, ok := index[b]; ok && i != ai && ob != nil {
				dsts = append(dsts, dst{i, ob})
			}
		}
		slices.SortFunc(dsts, func(x, y dst) int { return x.i - y.i })
		for _, d := range dsts {
			b, ob := s.members[d.i], d.ob
			var c Connection
			switch {
			case dead[ai] || dead[d.i]:
				if ob.GetReachability() == pb.Reachability_REACHABILITY_NONE && !offline {
					continue
				}
				c.Status = "down"
			case ob.GetConnected():
				c.Status = "up"
				c.RTTMs = float64(ob.GetRttUs()) / 1000
				if c.RTTMs == 0 && b.NodeID == s.e.cfg.Self {
					c.RTTMs = float64(s.rttUs(a.NodeID)) / 1000
				}
				c.Relayed = ob.GetRelayed()
			case ob.GetReachability() != pb.Reachability_REACHABILITY_NONE:
				c.Status = "down"
			default:
				continue
			}
			c.Src, c.Dst = a.NodeID, b.NodeID
			nv.Connections = append(nv.Connections, c)
		}
	}
	return nv
}
