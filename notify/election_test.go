package notify

import (
	"slices"
	"testing"

	"github.com/meshmon/meshmon/health"
)

func verdicts(st map[string]health.Status) map[string]health.Verdict {
	out := make(map[string]health.Verdict, len(st))
	for n, s := range st {
		out[n] = health.Verdict{Status: s, Confirmed: true, Live: 3}
	}
	return out
}

// member builds a participating member whose peer ID is "P"+rank, so the
// test reads in election order.
func member(node, peer string) ClusterMember {
	return ClusterMember{NodeID: node, PeerID: peer, Participating: true}
}

func TestElect(t *testing.T) {
	on, off, deg := health.StatusOnline, health.StatusOffline, health.StatusDegraded
	tests := []struct {
		name    string
		self    string
		members []ClusterMember
		status  map[string]health.Status
		leader  string
		waiting bool
		states  []MemberState // in member order
		// unhealthy is ElectionInput.SelfUnhealthy.
		unhealthy bool
	}{
		{
			name:      "self recovering from a pause does not lead",
			self:      "c",
			members:   []ClusterMember{member("a", "P3"), member("b", "P2"), member("c", "P1")},
			status:    map[string]health.Status{"a": on, "b": on, "c": on},
			unhealthy: true,
			leader:    "b",
			states:    []MemberState{StateFollower, StateLeader, StateWaiting},
		},
		{
			name:      "self recovering, one other live: nobody leads",
			self:      "c",
			members:   []ClusterMember{member("a", "P3"), member("b", "P2"), member("c", "P1")},
			status:    map[string]health.Status{"a": off, "b": on, "c": on},
			unhealthy: true,
			waiting:   true,
			states:    []MemberState{StateOffline, StateWaiting, StateWaiting},
		},
		{
			name:    "all online: smallest peer ID leads",
			self:    "b",
			members: []ClusterMember{member("a", "P3"), member("b", "P2"), member("c", "P1")},
			status:  map[string]health.Status{"a": on, "b": on, "c": on},
			leader:  "c",
			states:  []MemberState{StateFollower, StateFollower, StateLeader},
		},
		{
			name:    "leader offline: next smallest leads",
			self:    "b",
			members: []ClusterMember{member("a", "P3"), member("b", "P2"), member("c", "P1")},
			status:  map[string]health.Status{"a": on, "b": on, "c": off},
			leader:  "b",
			states:  []MemberState{StateFollower, StateLeader, StateOffline},
		},
		{
			name:    "self counts as online whatever the verdict map says",
			self:    "a",
			members: []ClusterMember{member("a", "P1"), member("b", "P2")},
			status:  map[string]health.Status{"b": on},
			leader:  "a",
			states:  []MemberState{StateLeader, StateFollower},
		},
		{
			name:    "degraded members are alive and may lead",
			self:    "b",
			members: []ClusterMember{member("a", "P1"), member("b", "P2")},
			status:  map[string]health.Status{"a": deg, "b": on},
			leader:  "a",
			states:  []MemberState{StateLeader, StateFollower},
		},
		{
			name:    "one live member: waiting; others keep offline / not participating",
			self:    "a",
			members: []ClusterMember{member("a", "P2"), member("b", "P1"), {NodeID: "c", PeerID: "P0"}},
			status:  map[string]health.Status{"a": on, "b": off, "c": on},
			waiting: true,
			states:  []MemberState{StateWaiting, StateOffline, StateNotParticipating},
		},
		{
			name:    "self not participating, two others live",
			self:    "c",
			members: []ClusterMember{member("a", "P2"), member("b", "P1"), {NodeID: "c", PeerID: "P0"}},
			status:  map[string]health.Status{"a": on, "b": on, "c": on},
			leader:  "b",
			states:  []MemberState{StateFollower, StateLeader, StateNotParticipating},
		},
		{
			name:    "self not participating, one other live: waiting",
			self:    "c",
			members: []ClusterMember{member("a", "P2"), member("b", "P1"), {NodeID: "c", PeerID: "P0"}},
			status:  map[string]health.Status{"a": on, "b": off, "c": on},
			waiting: true,
			states:  []MemberState{StateWaiting, StateOffline, StateNotParticipating},
		},
		{
			name:    "unknown and left members are offline",
			self:    "a",
			members: []ClusterMember{member("a", "P3"), member("b", "P1"), member("c", "P2"), member("d", "P4")},
			status:  map[string]health.Status{"a": on, "b": health.StatusUnknown, "c": health.StatusLeft, "d": on},
			leader:  "a",
			states:  []MemberState{StateLeader, StateOffline, StateOffline, StateFollower},
		},
		{
			name:    "member without a key cannot take part",
			self:    "a",
			members: []ClusterMember{member("a", "P2"), member("b", ""), member("c", "P3")},
			status:  map[string]health.Status{"a": on, "b": on, "c": on},
			leader:  "a",
			states:  []MemberState{StateLeader, StateNotParticipating, StateFollower},
		},
		{
			name:    "equal peer IDs fall back to node_id",
			self:    "b",
			members: []ClusterMember{member("b", "P1"), member("a", "P1")},
			status:  map[string]health.Status{"a": on, "b": on},
			leader:  "a",
			states:  []MemberState{StateFollower, StateLeader},
		},
		{
			name:    "nobody participates",
			self:    "a",
			members: []ClusterMember{{NodeID: "a", PeerID: "P1"}, {NodeID: "b", PeerID: "P2"}},
			status:  map[string]health.Status{"a": on, "b": on},
			waiting: true,
			states:  []MemberState{StateNotParticipating, StateNotParticipating},
		},
		{
			name:    "peer IDs compare as strings",
			self:    "a",
			members: []ClusterMember{member("a", "12D3KooWB"), member("b", "12D3KooWA"), member("c", "12D3KooWa")},
			status:  map[string]health.Status{"a": on, "b": on, "c": on},
			leader:  "b",
			states:  []MemberState{StateFollower, StateLeader, StateFollower},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Elect(ElectionInput{Self: tt.self, Members: tt.members, Verdicts: verdicts(tt.status), SelfUnhealthy: tt.unhealthy})
			if r.Leader != tt.leader || r.Waiting != tt.waiting {
				t.Errorf("Elect leader, waiting = %q, %v; want %q, %v", r.Leader, r.Waiting, tt.leader, tt.waiting)
			}
			var got []MemberState
			for _, m := range r.Members {
				got = append(got, m.State)
			}
			if !slices.Equal(got, tt.states) {
				t.Errorf("Elect states = %v; want %v", got, tt.states)
			}
			for i, m := range tt.members {
				if s := r.State(m.NodeID); s != tt.states[i] {
					t.Errorf("State(%q) = %v; want %v", m.NodeID, s, tt.states[i])
				}
			}
		})
	}
}

// Every member that sees the same verdicts elects the same leader.
func TestElectSameOnEveryMember(t *testing.T) {
	members := []ClusterMember{member("a", "P3"), member("b", "P1"), member("c", "P2"), {NodeID: "d", PeerID: "P0"}}
	st := verdicts(map[string]health.Status{"a": health.StatusOnline, "b": health.StatusOnline, "c": health.StatusOnline, "d": health.StatusOnline})
	for _, self := range []string{"a", "b", "c", "d"} {
		r := Elect(ElectionInput{Self: self, Members: members, Verdicts: st})
		if r.Leader != "b" {
			t.Errorf("Elect from %s: leader = %q; want b", self, r.Leader)
		}
	}
}

func TestSenderFor(t *testing.T) {
	live := ElectionResult{Leader: "a", Live: []string{"a", "b", "c"}}
	waiting := ElectionResult{Waiting: true, Live: []string{"a"}}
	tests := []struct {
		name    string
		r       ElectionResult
		subject string
		want    string
	}{
		{"alert about a follower: leader", live, "b", "a"},
		{"alert about a non-member: leader", live, "z", "a"},
		{"alert about the leader: runner-up", live, "a", "b"},
		{"waiting: nobody", waiting, "z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.SenderFor(tt.subject); got != tt.want {
				t.Errorf("SenderFor(%q) = %q; want %q", tt.subject, got, tt.want)
			}
		})
	}
}

func TestClusterHash(t *testing.T) {
	const u = "https://discord.com/api/webhooks/123/secret-token"
	h := ClusterHash("net-a", u)
	if len(h) != 64 {
		t.Fatalf("ClusterHash length = %d; want 64", len(h))
	}
	if h2 := ClusterHash("net-a", " "+u+"\n"); h2 != h {
		t.Errorf("ClusterHash ignores surrounding space: %s != %s", h2, h)
	}
	if ClusterHash("net-b", u) == h {
		t.Error("ClusterHash is not salted by the network")
	}
	if ClusterHash("net-a", u+"x") == h {
		t.Error("ClusterHash does not depend on the URL")
	}
	// Round trip through a heartbeat.
	c := NewCluster("net-a", NewWebhook("ops", TypeDiscord, u))
	if c.Hash != h {
		t.Errorf("NewCluster hash = %s; want %s", c.Hash, h)
	}
	hb := heartbeatWith(HeartbeatClusters([]string{h, h, "zz"}))
	got := AnnouncedClusters(hb)
	if len(got) != 1 || !got[h] {
		t.Errorf("AnnouncedClusters = %v; want {%s}", got, h)
	}
}
