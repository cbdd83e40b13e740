package p2p

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestMembersLookups(t *testing.T) {
	a, b, c, x := newAuthor(t, "a"), newAuthor(t, "b"), newAuthor(t, "c"), newAuthor(t, "x")
	byNode := map[string]peer.ID{"a": a.id, "b": b.id, "c": c.id}
	m := NewMembers(byNode)
	// The map is copied: later changes to it do not leak into the set.
	byNode["x"] = x.id
	delete(byNode, "a")

	tests := []struct {
		node   string
		id     peer.ID
		member bool
	}{
		{"a", a.id, true},
		{"b", b.id, true},
		{"c", c.id, true},
		{"x", x.id, false},
		{"", "", false},
	}
	for _, tc := range tests {
		if got, ok := m.PeerID(tc.node); ok != tc.member || (ok && got != tc.id) {
			t.Errorf("PeerID(%q) = %s, %v; want %s, %v", tc.node, got, ok, tc.id, tc.member)
		}
		if tc.id == "" {
			continue
		}
		if got, ok := m.NodeID(tc.id); ok != tc.member || (ok && got != tc.node) {
			t.Errorf("NodeID(%s) = %q, %v; want %q, %v", tc.id, got, ok, tc.node, tc.member)
		}
	}
	if got, ok := m.NodeID(""); ok {
		t.Errorf("NodeID(\"\") = %q, true; want no member", got)
	}
	if got := m.Len(); got != 3 {
		t.Errorf("Len() = %d; want 3", got)
	}
	want := []peer.ID{a.id, b.id, c.id}
	slices.Sort(want)
	if got := m.Peers(); !slices.Equal(got, want) {
		t.Errorf("Peers() = %v; want %v (sorted)", got, want)
	}
	// Peers returns a fresh slice each time.
	m.Peers()[0] = x.id
	if got := m.Peers(); !slices.Equal(got, want) {
		t.Errorf("Peers() after the caller changed a result = %v; want %v", got, want)
	}
}

// TestMembersEmpty: an empty set and a nil set answer like a set with no
// members.
func TestMembersEmpty(t *testing.T) {
	a := newAuthor(t, "a")
	for name, m := range map[string]*Members{
		"nil set":      nil,
		"nil map":      NewMembers(nil),
		"empty map":    NewMembers(map[string]peer.ID{}),
		"zero members": {},
	} {
		t.Run(name, func(t *testing.T) {
			if got, ok := m.NodeID(a.id); ok {
				t.Errorf("NodeID = %q, true; want no member", got)
			}
			if got, ok := m.PeerID("a"); ok {
				t.Errorf("PeerID = %s, true; want no member", got)
			}
			if got := m.Len(); got != 0 {
				t.Errorf("Len() = %d; want 0", got)
			}
			if got := m.Peers(); len(got) != 0 {
				t.Errorf("Peers() = %v; want none", got)
			}
		})
	}
}
