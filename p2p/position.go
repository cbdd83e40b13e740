package p2p

import "github.com/meshmon/meshmon/p2p/pb"

// Position is where a message stands in its author's stream of one kind:
// a later boot (incarnation), or the same boot and a higher seq, is newer.
// See docs/liveness.md, "Message positions that only go forward".
type Position struct{ Boot, Seq uint64 }

// Bounds on positions a receiver admits. A boot_id is an incarnation
// counter that starts at the wall clock in unix ms (about 2^41 today) and
// grows by one per start or join; a seq counts the messages of one kind of
// one incarnation. Nothing legitimate comes near these bounds, and a forged
// position at the bound can still be refuted (the author jumps to
// MaxBoot+1 is refused, so it jumps within the bound: see Refute).
const (
	// MaxBoot is the largest boot_id admitted: 2^50 (unix ms in the year
	// 37,000).
	MaxBoot = uint64(1) << 50
	// MaxSeq is the largest seq admitted within one boot.
	MaxSeq = uint64(1) << 40
)

// PositionOf is the position of the message with header h.
func PositionOf(h *pb.Header) Position { return Position{h.GetBootId(), h.GetSeq()} }

// After tells whether p is newer than q.
func (p Position) After(q Position) bool {
	return p.Boot > q.Boot || (p.Boot == q.Boot && p.Seq > q.Seq)
}

// Plausible tells whether p lies within MaxBoot and MaxSeq.
func (p Position) Plausible() bool { return p.Boot <= MaxBoot && p.Seq <= MaxSeq }

// Refute returns the boot_id an author whose own latest position is own
// must take after a message about itself at position seen was admitted:
// one above seen's boot when seen is newer than own, else own's boot (no
// jump: its own messages come back at the positions it gave them). ok is
// false when no jump is needed.
func Refute(own, seen Position) (boot uint64, ok bool) {
	if !seen.After(own) {
		return own.Boot, false
	}
	return min(seen.Boot+1, MaxBoot), true
}
