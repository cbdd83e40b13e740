package p2p

import (
	"errors"
	"fmt"

	"github.com/meshmon/meshmon/p2p/pb"
)

// bodyField is the field number of kind k's body in an Envelope, which
// SyncHeld names kinds by: a number on the wire that never changes.
func (k Kind) bodyField() (uint32, bool) {
	switch k {
	case KindHeartbeat:
		return 2, true
	case KindReport:
		return 3, true
	case KindDelivered:
		return 4, true
	case KindMonitor:
		return 5, true
	}
	return 0, false
}

// kindOfField is the kind whose Envelope body has field number f.
func kindOfField(f uint32) (Kind, bool) {
	for k := range numKinds {
		if g, ok := k.bodyField(); ok && g == f {
			return k, true
		}
	}
	return 0, false
}

// maxHeld bounds the held list of a sync request to a network of members
// members: one position per author and kind a node keeps for sync, twice
// over, so that a requester whose member list is longer than this node's
// (a config change reaching one before the other) still fits.
func maxHeld(members int) int { return 2*members*syncKindsPerAuthor + 16 }

// heldPositions reads a sync request's held list into the position held
// per author and kind. Positions of kinds this node does not know are
// skipped (a later version may sync more kinds). A list longer than limit,
// an entry without a node_id, or a position beyond MaxBoot or MaxSeq makes
// the request malformed: a requester that states too little only gets more
// of what it asked, so nothing here is a risk to this node but the work of
// reading the list, which limit bounds.
func heldPositions(held []*pb.SyncHeld, limit int) (map[freshKey]Position, error) {
	if len(held) > limit {
		return nil, fmt.Errorf("held: %d positions, limit %d", len(held), limit)
	}
	out := make(map[freshKey]Position, len(held))
	for _, h := range held {
		if h.GetNodeId() == "" {
			return nil, errors.New("held: a position without a node_id")
		}
		pos := Position{h.GetBootId(), h.GetSeq()}
		if !pos.Plausible() {
			return nil, fmt.Errorf("held: implausible position %d/%d of %q", pos.Boot, pos.Seq, h.GetNodeId())
		}
		kind, ok := kindOfField(h.GetKind())
		if !ok {
			continue
		}
		k := freshKey{h.GetNodeId(), kind}
		if old, dup := out[k]; !dup || pos.After(old) {
			out[k] = pos
		}
	}
	return out, nil
}
