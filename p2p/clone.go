package p2p

import "github.com/meshmon/meshmon/p2p/pb"

// Clash says that the author of an admitted message runs as two
// incarnations at once: two hosts publish with one member's key (a copied
// config dir, a stolen key). A restarted member never does that: its old
// incarnation stops before the new one starts. See docs/liveness.md,
// "Cloned identities".
type Clash struct {
	// Boot is the message's incarnation: the older one, still publishing.
	Boot uint64
	// Other is the newer incarnation that appeared while Boot went on.
	Other uint64
	// Addrs are the distinct remote addresses of this node's connections
	// to the author's peer ID when the message was admitted: two or more (a peer
	// ID connected from two places at once) point at the two hosts. Empty
	// for a message that did not come from the author's own connection.
	Addrs []string
}

// incarnations is what a receiver holds of one author's messages of one
// kind: the latest position of the author's current (newest) incarnation,
// and of the incarnation it superseded.
//
// A message of an older incarnation that is newer than the last one held
// of it is either the tail of a run that has since stopped (sent before
// the current incarnation started, arriving late) or proof of a clone: the
// old incarnation still runs beside the current one. The author's own
// clock tells them apart: a clone's message was sent after the current
// incarnation's first message, a tail's before it. Tails stay stale, as
// before; a clone's messages are admitted and flagged, so a cloned member's
// real host is not silenced by the copy that started later (or refuted
// higher). The older incarnation need not be the one cur superseded here:
// this node may have missed some of the incarnations two hosts took while
// they refuted each other, so any older incarnation still publishing takes
// prev's place.
type incarnations struct {
	cur, prev Position
	// curSent is the sent_unix_ms of the first message of cur admitted.
	curSent int64
	// held: cur holds an admitted position; hasPrev: prev does.
	held, hasPrev bool
}

// admit decides on a message at position p sent at sentMs (its header's
// sent_unix_ms) and records it when admitted. clone is true for an
// admitted message of an older incarnation sent after the current one
// began: the two run at once.
func (in *incarnations) admit(p Position, sentMs int64) (reason RejectReason, clone bool) {
	switch {
	case !in.held:
		in.cur, in.curSent, in.held = p, sentMs, true
		return rejectNone, false
	case p.After(in.cur):
		if p.Boot != in.cur.Boot {
			in.prev, in.curSent, in.hasPrev = in.cur, sentMs, true
		}
		in.cur = p
		return rejectNone, false
	case p == in.cur, in.hasPrev && p == in.prev:
		return ignoreDuplicate, false
	case p.Boot == in.cur.Boot, sentMs <= in.curSent:
		return RejectStale, false
	case in.hasPrev && p.Boot == in.prev.Boot && !p.After(in.prev):
		return RejectStale, false
	}
	in.prev, in.hasPrev = p, true
	return rejectNone, true
}

// sentMs is a header's send time as its author's clock had it.
func sentMs(h *pb.Header) int64 { return h.GetSentUnixMs() }
