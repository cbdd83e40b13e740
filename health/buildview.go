package health

import (
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

func (s *engineState) buildView(now time.Time, verdicts map[string]Verdict) *NetworkView {
	nv := &NetworkView{
		NetworkID: s.e.cfg.NetworkID,
		Self:      s.e.cfg.Self,
		Nodes:     make(map[string]*NodeView, len(s.members)),
		// An empty list, not null, for a network of one.
		Connections: make([]Connection, 0, len(s.members)*max(len(s.members)-1, 0)),
		UpdatedAt:   now,
		Local:       s.localHealth(now),
	}
	own := s.ownObservations(now)
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
			PeerID:        m.PeerID.String(),
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
		if m.PeerID == "" {
			n.PeerID = ""
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
	// node's links are never shown with a stale RTT.
	dead := func(node string) bool {
		switch verdicts[node].Status {
		case StatusOffline, StatusLeft, StatusUnknown:
			return true
		}
		return false
	}
	for _, a := range s.members {
		for _, b := range s.members {
			if a.NodeID == b.NodeID {
				continue
			}
			c := Connection{Src: a.NodeID, Dst: b.NodeID, Status: "unknown"}
			ob := obsOf(a.NodeID, b.NodeID)
			switch {
			case dead(a.NodeID) || dead(b.NodeID):
				if (ob != nil && ob.GetReachability() != pb.Reachability_REACHABILITY_NONE) || verdicts[a.NodeID].Status == StatusOffline {
					c.Status = "down"
				}
			case ob == nil:
			case ob.GetConnected():
				c.Status = "up"
				c.RTTMs = float64(ob.GetRttUs()) / 1000
				if c.RTTMs == 0 && b.NodeID == s.e.cfg.Self {
					c.RTTMs = float64(s.rttUs(a.NodeID)) / 1000
				}
				c.Relayed = ob.GetRelayed()
			case ob.GetReachability() != pb.Reachability_REACHABILITY_NONE:
				c.Status = "down"
			}
			nv.Connections = append(nv.Connections, c)
		}
	}
	return nv
}
