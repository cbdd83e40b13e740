package p2p

import (
	"maps"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Members is an immutable set of a network's members: node_id ↔ peer ID.
// A member whose public key is missing has no peer ID and is not in the set.
type Members struct {
	byPeer map[peer.ID]string
	byNode map[string]peer.ID
}

// NewMembers builds a member set from node_id → peer ID. The map is copied.
func NewMembers(byNode map[string]peer.ID) *Members {
	m := &Members{byPeer: make(map[peer.ID]string, len(byNode)), byNode: maps.Clone(byNode)}
	if m.byNode == nil {
		m.byNode = map[string]peer.ID{}
	}
	for n, p := range byNode {
		m.byPeer[p] = n
	}
	return m
}

// NodeID returns the node_id of peer p, if p is a member.
func (m *Members) NodeID(p peer.ID) (string, bool) {
	if m == nil {
		return "", false
	}
	n, ok := m.byPeer[p]
	return n, ok
}

// PeerID returns the peer ID of member node, if it has a key.
func (m *Members) PeerID(node string) (peer.ID, bool) {
	if m == nil {
		return "", false
	}
	p, ok := m.byNode[node]
	return p, ok
}

// Peers returns the members' peer IDs, sorted.
func (m *Members) Peers() []peer.ID {
	if m == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(m.byPeer))
}

// Len is the number of members with a key.
func (m *Members) Len() int {
	if m == nil {
		return 0
	}
	return len(m.byNode)
}
