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
	// RejectImplausible: boot_id or seq beyond MaxBoot or MaxSeq.
	RejectImplausible
	// RejectAlertID: a Delivered message whose alert_id is empty or longer
	// than MaxAlertIDLen.
	RejectAlertID
	// RejectMonitor: a MonitorReport beyond the limits of the protocol
	// (more than MaxMonitorResults results, a name or reason too long, an
	// unknown state).
	RejectMonitor
	numRejectReasons
	// ignoreDuplicate is not a rejection: the exact position was admitted
	// already (the same message by gossip and by sync). It is not counted.
	ignoreDuplicate
)

// MaxAlertIDLen bounds a Delivered message's alert_id, in bytes. Alert ids
// are a cluster hash and a digest, well under it.
const MaxAlertIDLen = 128

// Limits of a MonitorReport: configsync allows at most 100 monitors per
// network with names of at most 64 bytes; probe reasons are cut at 120.
const (
	MaxMonitorResults   = 128
	MaxMonitorNameLen   = 64
	MaxMonitorReasonLen = 128
)

var rejectNames = [numRejectReasons]string{
	"", "oversize", "decode", "no_header", "no_body", "wrong_network",
	"not_member", "node_id_mismatch", "stale", "bad_signature", "wrong_topic",
	"implausible_position", "alert_id", "monitor",
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
	KindMonitor
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
	case KindMonitor:
		return "monitor"
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
	case *pb.Envelope_Monitors:
		return KindMonitor, true
	}
	return 0, false
}

type freshKey struct {
	node string
	kind Kind
}

// Validator decides which messages of one network are admitted: the signer
// must be a member, the claimed node_id must be the signer's, network_id must
// match, (boot_id, seq) must be newer than the last admitted from that node for
// that kind, and the payload must fit MaxEnvelopeSize. It is safe for
// concurrent use.
type Validator struct {
	networkID  string
	members    atomic.Pointer[Members]
	rejected   [numRejectReasons]atomic.Uint64
	accepted   [numKinds]atomic.Uint64
	duplicates atomic.Uint64

	// mu protects the following fields.
	mu sync.Mutex
	// last is the latest admitted positions per author and kind (of its
	// current incarnation and the one before: see incarnations), with the
	// key (peer) that signed them: a position signed by another key than
	// the member's current one does not hold the member back.
	last map[freshKey]admitted
}

type admitted struct {
	inc  incarnations
	peer peer.ID
}

// NewValidator returns a validator for networkID admitting members.
func NewValidator(networkID string, members *Members) *Validator {
	v := &Validator{networkID: networkID, last: map[freshKey]admitted{}}
	v.members.Store(members)
	return v
}

// SetMembers swaps the member set atomically. The positions of a member
// whose key (peer ID) changed are forgotten: a new key starts clean, so a
// position forged with the old key cannot lock the member out. It returns
// the node_ids whose positions were forgotten. (A member removed and later
// re-added with another key starts clean too: positions remember their
// signer.)
func (v *Validator) SetMembers(m *Members) []string {
	old := v.members.Swap(m)
	var reset []string
	if old != nil {
		for _, p := range old.Peers() {
			node, _ := old.NodeID(p)
			if q, ok := m.PeerID(node); ok && q != p {
				reset = append(reset, node)
			}
		}
	}
	if len(reset) == 0 {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, node := range reset {
		for k := range numKinds {
			delete(v.last, freshKey{node, k})
		}
	}
	return reset
}

// IsDuplicate tells whether r is Admit's answer for a message admitted
// already: to be ignored, not rejected.
func IsDuplicate(r RejectReason) bool { return r == ignoreDuplicate }

// Duplicates is how many duplicates Admit ignored.
func (v *Validator) Duplicates() uint64 { return v.duplicates.Load() }

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
	if !PositionOf(h).Plausible() {
		return nil, RejectImplausible
	}
	if d, ok := env.GetBody().(*pb.Envelope_Delivered); ok {
		if id := d.Delivered.GetAlertId(); id == "" || len(id) > MaxAlertIDLen {
			return nil, RejectAlertID
		}
	}
	if m, ok := env.GetBody().(*pb.Envelope_Monitors); ok && !validMonitorReport(m.Monitors) {
		return nil, RejectMonitor
	}
	return env, rejectNone
}

// validMonitorReport checks a MonitorReport against the protocol's limits.
func validMonitorReport(r *pb.MonitorReport) bool {
	if len(r.GetResults()) > MaxMonitorResults {
		return false
	}
	for _, res := range r.GetResults() {
		if n := len(res.GetName()); n == 0 || n > MaxMonitorNameLen || len(res.GetReason()) > MaxMonitorReasonLen {
			return false
		}
		switch res.GetState() {
		case pb.MonitorState_MONITOR_STATE_UP, pb.MonitorState_MONITOR_STATE_WARN, pb.MonitorState_MONITOR_STATE_DOWN:
		default:
			return false
		}
	}
	return true
}

// Admit checks a payload and, if it is admissible and newer than the last
// admitted one of its kind from its author, records it. A rejection is
// counted when count is true. A message at exactly the last admitted
// position is a duplicate (gossip and sync deliver the same message): it
// is refused with IsDuplicate true and never counted.
func (v *Validator) Admit(from peer.ID, data []byte, count bool) (*pb.Envelope, RejectReason) {
	env, reason, _ := v.admit(from, data, count)
	return env, reason
}

// admit is Admit that also tells whether the message's author runs as
// two incarnations at once (see incarnations): such a message is admitted,
// and other is the newer incarnation it went on beside (0 otherwise).
func (v *Validator) admit(from peer.ID, data []byte, count bool) (env *pb.Envelope, reason RejectReason, other uint64) {
	env, reason = v.Check(from, data)
	if reason == rejectNone {
		reason, other = v.advance(from, env)
	}
	if reason == ignoreDuplicate {
		v.duplicates.Add(1)
		return nil, reason, 0
	}
	if reason != rejectNone {
		if count {
			v.rejected[reason].Add(1)
		}
		return nil, reason, 0
	}
	kind, _ := KindOf(env)
	v.accepted[kind].Add(1)
	return env, rejectNone, other
}

// advance records env's position; other is the author's newer incarnation
// when env shows a clone (0 otherwise: a newer incarnation is never 0).
func (v *Validator) advance(from peer.ID, env *pb.Envelope) (reason RejectReason, other uint64) {
	kind, _ := KindOf(env)
	h := env.GetHeader()
	k := freshKey{h.GetNodeId(), kind}
	v.mu.Lock()
	defer v.mu.Unlock()
	last, ok := v.last[k]
	if !ok || last.peer != from {
		last = admitted{peer: from}
	}
	reason, clone := last.inc.admit(PositionOf(h), sentMs(h))
	v.last[k] = last
	if clone {
		other = last.inc.cur.Boot
	}
	return reason, other
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
