package p2p

import (
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// MaxEnvelopeSize is the largest gossip payload a validator admits, in bytes.
// A Report about 1000 members stays well below it.
const MaxEnvelopeSize = 64 << 10

// RejectReason says why the validator refused a message. Each is counted.
type RejectReason uint8

// The reasons a message is rejected.
const (
	rejectNone RejectReason = iota
	// RejectOversize: the payload exceeds MaxEnvelopeSize.
	RejectOversize
	// RejectDecode: the payload is not a valid Envelope.
	RejectDecode
	// RejectNoHeader: the envelope has no header.
	RejectNoHeader
	// RejectNoBody: the envelope has no known body.
	RejectNoBody
	// RejectWrongNetwork: header.network_id is not the topic's network.
	RejectWrongNetwork
	// RejectNotMember: the signer is not a member of the network.
	RejectNotMember
	// RejectNodeIDMismatch: a member signed a message claiming another node_id.
	RejectNodeIDMismatch
	// RejectStale: (boot_id, seq) is not newer than the last admitted (a replay or an old boot).
	RejectStale
	// RejectBadSignature: a synced message whose signature does not verify.
	RejectBadSignature
	// RejectWrongTopic: a synced message from another topic.
	RejectWrongTopic
	numRejectReasons
)

var rejectNames = [numRejectReasons]string{
	"", "oversize", "decode", "no_header", "no_body", "wrong_network",
	"not_member", "node_id_mismatch", "stale", "bad_signature", "wrong_topic",
}

// String is the reason's metric label, e.g. "not_member".
func (r RejectReason) String() string {
	if r < numRejectReasons {
		return rejectNames[r]
	}
	return "unknown"
}

// RejectReasons lists every reason, for metrics that must show zeros too.
func RejectReasons() []RejectReason {
	out := make([]RejectReason, 0, numRejectReasons-1)
	for r := RejectOversize; r < numRejectReasons; r++ {
		out = append(out, r)
	}
	return out
}

// Kind is the kind of a gossip message; freshness is tracked per kind.
type Kind uint8

// The message kinds.
const (
	KindHeartbeat Kind = iota
	KindReport
	KindDelivered
	numKinds
)

// String names the kind as metrics label it.
func (k Kind) String() string {
	switch k {
	case KindHeartbeat:
		return "heartbeat"
	case KindReport:
		return "report"
	case KindDelivered:
		return "delivered"
	}
	return "unknown"
}

// KindOf returns the kind of an envelope's body.
func KindOf(env *pb.Envelope) (Kind, bool) {
	switch env.GetBody().(type) {
	case *pb.Envelope_Heartbeat:
		return KindHeartbeat, true
	case *pb.Envelope_Report:
		return KindReport, true
	case *pb.Envelope_Delivered:
		return KindDelivered, true
	}
	return 0, false
}

type freshKey struct {
	node string
	kind Kind
}

// Position is where a message stands in its author's stream of one kind:
// a later boot, or the same boot and a higher seq, is newer.
type Position struct{ Boot, Seq uint64 }

// PositionOf is the position of the message with header h.
func PositionOf(h *pb.Header) Position { return Position{h.GetBootId(), h.GetSeq()} }

// After tells whether p is newer than q.
func (p Position) After(q Position) bool {
	return p.Boot > q.Boot || (p.Boot == q.Boot && p.Seq > q.Seq)
}

// Validator decides which messages of one network are admitted: the signer
// must be a member, the claimed node_id must be the signer's, network_id must
// match, (boot_id, seq) must be newer than the last admitted from that node for
// that kind, and the payload must fit MaxEnvelopeSize. It is safe for
// concurrent use.
type Validator struct {
	networkID string
	members   atomic.Pointer[Members]
	rejected  [numRejectReasons]atomic.Uint64
	accepted  [numKinds]atomic.Uint64

	// mu protects the following fields.
	mu   sync.Mutex
	last map[freshKey]Position
}

// NewValidator returns a validator for networkID admitting members.
func NewValidator(networkID string, members *Members) *Validator {
	v := &Validator{networkID: networkID, last: map[freshKey]Position{}}
	v.members.Store(members)
	return v
}

// SetMembers swaps the member set atomically.
func (v *Validator) SetMembers(m *Members) { v.members.Store(m) }

// Members returns the current member set.
func (v *Validator) Members() *Members { return v.members.Load() }

// Check decodes and checks a payload signed by from without recording it.
func (v *Validator) Check(from peer.ID, data []byte) (*pb.Envelope, RejectReason) {
	if len(data) > MaxEnvelopeSize {
		return nil, RejectOversize
	}
	env := &pb.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil {
		return nil, RejectDecode
	}
	h := env.GetHeader()
	if h == nil {
		return nil, RejectNoHeader
	}
	if _, ok := KindOf(env); !ok {
		return nil, RejectNoBody
	}
	if h.GetNetworkId() != v.networkID {
		return nil, RejectWrongNetwork
	}
	node, ok := v.members.Load().NodeID(from)
	if !ok {
		return nil, RejectNotMember
	}
	if node != h.GetNodeId() {
		return nil, RejectNodeIDMismatch
	}
	return env, rejectNone
}

// Admit checks a payload and, if it is admissible and newer than the last
// admitted one of its kind from its author, records it. A rejection is
// counted when count is true.
func (v *Validator) Admit(from peer.ID, data []byte, count bool) (*pb.Envelope, RejectReason) {
	env, reason := v.Check(from, data)
	if reason == rejectNone {
		reason = v.advance(env)
	}
	if reason != rejectNone {
		if count {
			v.rejected[reason].Add(1)
		}
		return nil, reason
	}
	kind, _ := KindOf(env)
	v.accepted[kind].Add(1)
	return env, rejectNone
}

func (v *Validator) advance(env *pb.Envelope) RejectReason {
	kind, _ := KindOf(env)
	h := env.GetHeader()
	k := freshKey{h.GetNodeId(), kind}
	p := PositionOf(h)
	v.mu.Lock()
	defer v.mu.Unlock()
	if last, ok := v.last[k]; ok && !p.After(last) {
		return RejectStale
	}
	v.last[k] = p
	return rejectNone
}

// CountReject counts a rejection decided outside Admit (e.g. a bad signature
// in a sync answer).
func (v *Validator) CountReject(r RejectReason) {
	if r > rejectNone && r < numRejectReasons {
		v.rejected[r].Add(1)
	}
}

// Rejected returns the number of rejections per reason so far.
func (v *Validator) Rejected() map[RejectReason]uint64 {
	out := make(map[RejectReason]uint64, numRejectReasons)
	for _, r := range RejectReasons() {
		out[r] = v.rejected[r].Load()
	}
	return out
}

// Accepted returns the number of admitted messages of kind k (0 for a kind
// it does not know).
func (v *Validator) Accepted(k Kind) uint64 {
	if k >= numKinds {
		return 0
	}
	return v.accepted[k].Load()
}
