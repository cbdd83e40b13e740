package notify

import (
	"cmp"
	"slices"

	"github.com/meshmon/meshmon/health"
)

// ClusterMember is one member of the network as the election sees it.
type ClusterMember struct {
	// NodeID is the member's node_id.
	NodeID string
	// PeerID is its libp2p peer ID in string (base58) form; "" when its key
	// is missing, which makes it ineligible.
	PeerID string
	// Participating is true when the member takes part in this cluster: for
	// this node, when it configures the webhook; for the others, when their
	// latest heartbeat announces the cluster's hash.
	Participating bool
}

// ElectionInput is everything Elect looks at.
type ElectionInput struct {
	// Self is this node's node_id. Self is always alive in its own view.
	Self string
	// Members are the network's members (Self included), in any order.
	Members []ClusterMember
	// Verdicts are this node's consensus verdicts by node_id.
	Verdicts map[string]health.Verdict
	// SelfUnhealthy is set while this node's own health is not good
	// (health.LocalHealth: it recovers from a pause, or cannot publish).
	// It then does not count itself live, so it never considers itself
	// the leader or the sender of anything: during a stall each node
	// would elect from its own stale view, and several would send.
	SelfUnhealthy bool
}

// MemberStatus is one member's state in a cluster.
type MemberStatus struct {
	// NodeID is the member's node_id.
	NodeID string `json:"node_id"`
	// PeerID is its peer ID ("" when its key is missing).
	PeerID string `json:"peer_id"`
	// State is its role.
	State MemberState `json:"state"`
}

// ElectionResult is the outcome of Elect.
type ElectionResult struct {
	// Leader is the leader's node_id; "" when Waiting.
	Leader string
	// Live are the live participating members' node_ids in election order
	// (smallest peer ID first): Live[0] is the leader unless Waiting.
	Live []string
	// Waiting is true when fewer than 2 participating members are live.
	Waiting bool
	// Members are every input member's state, in input order.
	Members []MemberStatus
}

// State returns node's state; NOT_PARTICIPATING for a node not in the input.
func (r ElectionResult) State(node string) MemberState {
	for _, m := range r.Members {
		if m.NodeID == node {
			return m.State
		}
	}
	return StateNotParticipating
}

// SenderFor returns the node_id that sends alerts about subject when every
// live member has seen them: the first live member in election order other
// than subject — the leader, except for alerts about the leader itself,
// which the runner-up sends (a node never observes its own transitions).
// Dispatch refines this for alerts older than a member's return. It returns
// "" while Waiting.
func (r ElectionResult) SenderFor(subject string) string {
	return senderOf(DispatchInput{Election: r}, Alert{Node: subject})
}

// alive reports whether a verdict makes a member eligible: online, or
// degraded (alive, but a minority of observers cannot reach it).
//
// DESIGN.md §7 says "among those the consensus says online". Degraded
// members count too, because every node always sees itself as online: if a
// degraded leader were skipped by the others it would still elect itself,
// and the cluster would have two leaders sending the same alerts.
func alive(s health.Status) bool {
	return s == health.StatusOnline || s == health.StatusDegraded
}

// Elect computes every member's state in a notification cluster
// (DESIGN.md §7). It is pure: every member that sees the same verdicts
// elects the same leader, with no voting rounds.
//
// A member is live when it participates, has a peer ID and is alive by
// consensus (online or degraded; Self always is, unless SelfUnhealthy: it
// is then WAITING_FOR_CONSENSUS, for its own view). The leader is the live
// member with the smallest peer ID (string comparison of the base58 form,
// ties broken by node_id). With fewer than 2 live members nobody leads: the
// live ones are WAITING_FOR_CONSENSUS, while offline and non-participating
// members keep those states, which say more about them.
func Elect(in ElectionInput) ElectionResult {
	type cand struct{ node, peer string }
	var live []cand
	res := ElectionResult{Members: make([]MemberStatus, len(in.Members))}
	for i, m := range in.Members {
		st := StateNotParticipating
		if m.Participating && m.PeerID != "" {
			if m.NodeID == in.Self && in.SelfUnhealthy {
				st = StateWaiting
			} else if m.NodeID == in.Self || alive(in.Verdicts[m.NodeID].Status) {
				st = StateFollower
				live = append(live, cand{m.NodeID, m.PeerID})
			} else {
				st = StateOffline
			}
		}
		res.Members[i] = MemberStatus{NodeID: m.NodeID, PeerID: m.PeerID, State: st}
	}
	slices.SortFunc(live, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.peer, b.peer), cmp.Compare(a.node, b.node))
	})
	for _, c := range live {
		res.Live = append(res.Live, c.node)
	}
	if len(live) < 2 {
		res.Waiting = true
		for i := range res.Members {
			if res.Members[i].State == StateFollower {
				res.Members[i].State = StateWaiting
			}
		}
		return res
	}
	res.Leader = live[0].node
	for i := range res.Members {
		if res.Members[i].NodeID == res.Leader && res.Members[i].State == StateFollower {
			res.Members[i].State = StateLeader
		}
	}
	return res
}
