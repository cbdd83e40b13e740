package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// testNetwork is the network_id every validator test runs on.
const testNetwork = "net"

// author is a node that signs gossip the way GossipSub with StrictSign does.
type author struct {
	node string
	key  crypto.PrivKey
	id   peer.ID
}

// newAuthor derives node's key from its name, so fuzz corpus entries that
// carry signatures stay valid from run to run.
func newAuthor(tb testing.TB, node string) author {
	tb.Helper()
	seed := sha256.Sum256([]byte("meshmon p2p test key " + node))
	key, err := PrivKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		tb.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return author{node: node, key: key, id: id}
}

// sign wraps data in a pubsub message on topic and signs it like
// go-libp2p-pubsub's signMessage: the marshalled message without Signature
// and Key, prefixed with pubsub.SignPrefix, signed with the author's key. The
// key is not attached because an Ed25519 peer ID inlines it.
func (a author) sign(tb testing.TB, topic string, data []byte) *pubsubpb.Message {
	tb.Helper()
	seqno := make([]byte, 8)
	binary.BigEndian.PutUint64(seqno, uint64(len(data))+1)
	m := &pubsubpb.Message{From: []byte(a.id), Data: data, Seqno: seqno, Topic: &topic}
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := a.key.Sign(append([]byte(pubsub.SignPrefix), b...))
	if err != nil {
		tb.Fatal(err)
	}
	m.Signature = sig
	return m
}

// gossip signs env on the test network's topic.
func (a author) gossip(tb testing.TB, env *pb.Envelope) *pubsubpb.Message {
	tb.Helper()
	return a.sign(tb, TopicName(testNetwork), marshal(tb, env))
}

func marshal(tb testing.TB, m proto.Message) []byte {
	tb.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// envelope returns an envelope of kind on network from node at (boot, seq).
func envelope(kind Kind, network, node string, boot, seq uint64) *pb.Envelope {
	env := &pb.Envelope{Header: &pb.Header{NetworkId: network, NodeId: node, BootId: boot, Seq: seq}}
	switch kind {
	case KindHeartbeat:
		env.Body = &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{State: pb.State_STATE_RUNNING}}
	case KindReport:
		env.Body = &pb.Envelope_Report{Report: &pb.Report{Peers: []*pb.PeerObservation{
			{NodeId: "b", Reachability: pb.Reachability_REACHABILITY_REACHABLE, RttUs: 900},
		}}}
	case KindDelivered:
		env.Body = &pb.Envelope_Delivered{Delivered: &pb.Delivered{AlertId: "alert-1"}}
	}
	return env
}

// hb is a heartbeat of node on the test network.
func hb(node string, boot, seq uint64) *pb.Envelope {
	return envelope(KindHeartbeat, testNetwork, node, boot, seq)
}

// heartbeatOfSize returns a marshalled heartbeat of node that is exactly n
// bytes long, padded through its version string.
func heartbeatOfSize(tb testing.TB, node string, boot, seq uint64, n int) []byte {
	tb.Helper()
	env := hb(node, boot, seq)
	base := proto.Size(env)
	for pad := n - base; pad >= 0 && pad > n-base-16; pad-- {
		env.GetHeartbeat().Version = strings.Repeat("v", pad)
		if proto.Size(env) == n {
			return marshal(tb, env)
		}
	}
	tb.Fatalf("cannot pad a heartbeat to %d bytes", n)
	return nil
}

// appendField appends a length-delimited protobuf field to b.
func appendField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// membersOf is the member set of the given authors.
func membersOf(authors ...author) *Members {
	byNode := map[string]peer.ID{}
	for _, a := range authors {
		byNode[a.node] = a.id
	}
	return NewMembers(byNode)
}

// wantCounts asserts that v counted exactly the given rejections, and zero for
// every other reason.
func wantCounts(t *testing.T, v *Validator, want map[RejectReason]uint64) {
	t.Helper()
	full := map[RejectReason]uint64{}
	for _, r := range RejectReasons() {
		full[r] = want[r]
	}
	if got := v.Rejected(); !maps.Equal(got, full) {
		t.Errorf("Rejected() = %v; want %v", got, full)
	}
}

// rejected is a want map of one rejection for reason r (none for rejectNone).
func rejected(r RejectReason) map[RejectReason]uint64 {
	if r == rejectNone {
		return nil
	}
	return map[RejectReason]uint64{r: 1}
}

// gossipNetwork is a Network with just what its topic validator and its sync
// intake need, so they can be driven without a host.
func gossipNetwork(v *Validator, h Handler) *Network {
	return &Network{
		id:        testNetwork,
		topicName: TopicName(testNetwork),
		validator: v,
		handler:   h,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		latest:    map[freshKey]syncEntry{},
	}
}

// received runs msg through what a GossipSub router with StrictSign does
// with a message from the wire: it verifies the author's signature (as
// verifySigned does) and then asks the topic validator.
func received(t *testing.T, n *Network, msg *pubsubpb.Message) (*pubsub.Message, pubsub.ValidationResult) {
	t.Helper()
	from, err := verifySigned(msg)
	if err != nil {
		t.Fatalf("verifySigned = %v; want a valid signature (pubsub drops unsigned gossip before validation)", err)
	}
	pm := &pubsub.Message{Message: msg, ReceivedFrom: from}
	return pm, n.validate(context.Background(), from, pm)
}

// TestValidatorGossip drives the topic validator with signed pubsub messages
// as GossipSub hands them over. Freshness is lexicographic on (boot_id, seq),
// per author and kind: a newer boot_id wins whatever its seq (a restart resets
// seq), and a lower boot_id is stale even with a higher seq. So a node whose
// clock stepped back across a restart stays silenced on this validator until
// its boot_id passes the last one admitted, or this process restarts.
func TestValidatorGossip(t *testing.T) {
	a, b, x := newAuthor(t, "a"), newAuthor(t, "b"), newAuthor(t, "x")
	members := membersOf(a, b)

	tests := []struct {
		name  string
		prior []*pubsubpb.Message // admitted first; each must be accepted
		msg   *pubsubpb.Message
		want  RejectReason // rejectNone: accepted
		kind  Kind         // the kind counted when accepted
	}{
		{name: "heartbeat", msg: a.gossip(t, hb("a", 1, 1)), kind: KindHeartbeat},
		{name: "report", msg: a.gossip(t, envelope(KindReport, testNetwork, "a", 1, 1)), kind: KindReport},
		{name: "delivered", msg: a.gossip(t, envelope(KindDelivered, testNetwork, "a", 1, 1)), kind: KindDelivered},
		{name: "monitor report at the limits", msg: a.gossip(t, monitorEnv(append(make([]*pb.MonitorResult, MaxMonitorResults-1),
			&pb.MonitorResult{Name: strings.Repeat("m", MaxMonitorNameLen), State: pb.MonitorState_MONITOR_STATE_WARN,
				Reason: strings.Repeat("r", MaxMonitorReasonLen)}))), kind: KindMonitor},
		{name: "first message at position zero", msg: a.gossip(t, hb("a", 0, 0)), kind: KindHeartbeat},
		{
			name:  "newer seq",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1, 1))},
			msg:   a.gossip(t, hb("a", 1, 2)),
			kind:  KindHeartbeat,
		},
		{
			name:  "seq gap",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1, 1))},
			msg:   a.gossip(t, hb("a", 1, 50)),
			kind:  KindHeartbeat,
		},
		{
			name:  "restart: newer boot_id with seq reset",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1000, 7))},
			msg:   a.gossip(t, hb("a", 2000, 1)),
			kind:  KindHeartbeat,
		},
		{
			name:  "seq is per kind",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1, 9))},
			msg:   a.gossip(t, envelope(KindReport, testNetwork, "a", 1, 1)),
			kind:  KindReport,
		},
		{
			name:  "seq is per author",
			prior: []*pubsubpb.Message{b.gossip(t, hb("b", 5, 9))},
			msg:   a.gossip(t, hb("a", 1, 1)),
			kind:  KindHeartbeat,
		},
		{
			name: "exactly MaxEnvelopeSize",
			msg:  a.sign(t, TopicName(testNetwork), heartbeatOfSize(t, "a", 1, 1, MaxEnvelopeSize)),
			kind: KindHeartbeat,
		},
		{name: "forged signer: non-member claims a member", msg: x.gossip(t, hb("a", 1, 1)), want: RejectNotMember},
		{name: "non-member as itself", msg: x.gossip(t, hb("x", 1, 1)), want: RejectNotMember},
		{name: "member claims another node_id", msg: b.gossip(t, hb("a", 1, 1)), want: RejectNodeIDMismatch},
		{name: "member claims empty node_id", msg: a.gossip(t, hb("", 1, 1)), want: RejectNodeIDMismatch},
		{name: "wrong network_id", msg: a.gossip(t, envelope(KindHeartbeat, "other", "a", 1, 1)), want: RejectWrongNetwork},
		{name: "empty network_id", msg: a.gossip(t, envelope(KindHeartbeat, "", "a", 1, 1)), want: RejectWrongNetwork},
		{
			name:  "replay of an older signed message",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1, 1)), a.gossip(t, hb("a", 1, 2))},
			msg:   a.gossip(t, hb("a", 1, 1)),
			want:  RejectStale,
		},
		{
			name: "position beyond MaxBoot",
			msg:  a.gossip(t, hb("a", MaxBoot+1, 1)),
			want: RejectImplausible,
		},
		{
			name: "seq beyond MaxSeq",
			msg:  a.gossip(t, hb("a", 1, MaxSeq+1)),
			want: RejectImplausible,
		},
		{
			name: "boot_id 2^63",
			msg:  a.gossip(t, hb("a", 1<<63, 1)),
			want: RejectImplausible,
		},
		{
			name: "delivered with an empty alert_id",
			msg: a.gossip(t, &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a", BootId: 1, Seq: 1},
				Body: &pb.Envelope_Delivered{Delivered: &pb.Delivered{}}}),
			want: RejectAlertID,
		},
		{
			name: "delivered with an alert_id over MaxAlertIDLen",
			msg: a.gossip(t, &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a", BootId: 1, Seq: 1},
				Body: &pb.Envelope_Delivered{Delivered: &pb.Delivered{AlertId: strings.Repeat("x", MaxAlertIDLen+1)}}}),
			want: RejectAlertID,
		},
		{
			name: "monitor report with more than MaxMonitorResults results",
			msg:  a.gossip(t, monitorEnv(make([]*pb.MonitorResult, MaxMonitorResults+1))),
			want: RejectMonitor,
		},
		{
			name: "monitor result without a name",
			msg:  a.gossip(t, monitorEnv([]*pb.MonitorResult{{State: pb.MonitorState_MONITOR_STATE_UP}})),
			want: RejectMonitor,
		},
		{
			name: "monitor result with a name over MaxMonitorNameLen",
			msg: a.gossip(t, monitorEnv([]*pb.MonitorResult{{Name: strings.Repeat("m", MaxMonitorNameLen+1),
				State: pb.MonitorState_MONITOR_STATE_UP}})),
			want: RejectMonitor,
		},
		{
			name: "monitor result with a reason over MaxMonitorReasonLen",
			msg: a.gossip(t, monitorEnv([]*pb.MonitorResult{{Name: "web", State: pb.MonitorState_MONITOR_STATE_DOWN,
				Reason: strings.Repeat("r", MaxMonitorReasonLen+1)}})),
			want: RejectMonitor,
		},
		{
			name: "monitor result with an unknown state",
			msg:  a.gossip(t, monitorEnv([]*pb.MonitorResult{{Name: "web", State: pb.MonitorState(9)}})),
			want: RejectMonitor,
		},
		{
			name: "monitor result with no state",
			msg:  a.gossip(t, monitorEnv([]*pb.MonitorResult{{Name: "web"}})),
			want: RejectMonitor,
		},
		{
			name:  "older seq",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 1, 5))},
			msg:   a.gossip(t, hb("a", 1, 4)),
			want:  RejectStale,
		},
		{
			name:  "older boot_id with higher seq",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 2000, 1))},
			msg:   a.gossip(t, hb("a", 1000, 99)),
			want:  RejectStale,
		},
		{
			name:  "restart with an earlier boot_id (clock stepped back)",
			prior: []*pubsubpb.Message{a.gossip(t, hb("a", 2000, 40))},
			msg:   a.gossip(t, hb("a", 1999, 1)),
			want:  RejectStale,
		},
		{
			name: "oversized",
			msg:  a.sign(t, TopicName(testNetwork), heartbeatOfSize(t, "a", 1, 1, MaxEnvelopeSize+1)),
			want: RejectOversize,
		},
		{name: "garbage bytes", msg: a.sign(t, TopicName(testNetwork), []byte("\xff\xff\xff\xff")), want: RejectDecode},
		{
			name: "truncated envelope",
			msg:  a.sign(t, TopicName(testNetwork), marshal(t, hb("a", 1, 1))[:5]),
			want: RejectDecode,
		},
		{
			name: "invalid UTF-8 in network_id",
			msg: a.sign(t, TopicName(testNetwork),
				appendField(nil, 1, appendField(nil, 1, []byte("n\xffet")))),
			want: RejectDecode,
		},
		{name: "empty payload", msg: a.sign(t, TopicName(testNetwork), nil), want: RejectNoHeader},
		{
			name: "no header",
			msg: a.gossip(t, &pb.Envelope{Body: &pb.Envelope_Heartbeat{
				Heartbeat: &pb.Heartbeat{State: pb.State_STATE_RUNNING},
			}}),
			want: RejectNoHeader,
		},
		{
			name: "no body",
			msg:  a.gossip(t, &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a", BootId: 1, Seq: 1}}),
			want: RejectNoBody,
		},
		{
			name: "unknown body kind",
			msg: a.sign(t, TopicName(testNetwork), appendField(
				marshal(t, &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a", BootId: 1, Seq: 1}}),
				9, []byte{0x08, 0x01})),
			want: RejectNoBody,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := NewValidator(testNetwork, members)
			n := gossipNetwork(v, nil)
			for i, p := range tc.prior {
				if _, res := received(t, n, p); res != pubsub.ValidationAccept {
					t.Fatalf("prior message %d: validate = %v; want accept", i, res)
				}
			}
			before := make(map[Kind]uint64, numKinds)
			for k := range numKinds {
				before[k] = v.Accepted(k)
			}
			pm, res := received(t, n, tc.msg)
			if tc.want != rejectNone {
				if res != pubsub.ValidationReject {
					t.Errorf("validate = %v; want reject (%v)", res, tc.want)
				}
				if pm.ValidatorData != nil {
					t.Errorf("ValidatorData = %v; want nil on reject", pm.ValidatorData)
				}
				wantCounts(t, v, rejected(tc.want))
				for k := range numKinds {
					if got := v.Accepted(k); got != before[k] {
						t.Errorf("Accepted(%v) = %d; want %d", k, got, before[k])
					}
				}
				// Check and Admit agree with the validator on the reason.
				from := peer.ID(tc.msg.GetFrom())
				if _, got := v.Check(from, tc.msg.GetData()); tc.want != RejectStale && got != tc.want {
					t.Errorf("Check = %v; want %v", got, tc.want)
				}
				if _, got := v.Admit(from, tc.msg.GetData(), false); got != tc.want {
					t.Errorf("Admit again = %v; want %v", got, tc.want)
				}
				wantCounts(t, v, rejected(tc.want)) // count=false counts nothing
				return
			}
			if res != pubsub.ValidationAccept {
				t.Fatalf("validate = %v; want accept (reasons counted: %v)", res, v.Rejected())
			}
			env, ok := pm.ValidatorData.(*pb.Envelope)
			if !ok {
				t.Fatalf("ValidatorData = %T; want *pb.Envelope", pm.ValidatorData)
			}
			if want := mustUnmarshalEnvelope(t, tc.msg.GetData()); !proto.Equal(env, want) {
				t.Errorf("ValidatorData = %v; want %v", env, want)
			}
			wantCounts(t, v, nil)
			for k := range numKinds {
				want := before[k]
				if k == tc.kind {
					want++
				}
				if got := v.Accepted(k); got != want {
					t.Errorf("Accepted(%v) = %d; want %d", k, got, want)
				}
			}
			// The message now is the latest: delivering it again (by sync
			// and by gossip) is a duplicate, ignored and not a rejection.
			if _, res := received(t, n, tc.msg); res != pubsub.ValidationIgnore {
				t.Errorf("validate(duplicate) = %v; want ignore", res)
			}
			wantCounts(t, v, nil)
			if got := v.Duplicates(); got != 1 {
				t.Errorf("Duplicates() = %d; want 1", got)
			}
		})
	}
}

func mustUnmarshalEnvelope(tb testing.TB, data []byte) *pb.Envelope {
	tb.Helper()
	env := &pb.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil {
		tb.Fatal(err)
	}
	return env
}

// TestValidatorOwnStaleIgnored: this node's own message that the validator
// has already admitted (e.g. one it learnt back through sync) is ignored, not
// rejected, so publishing does not fail.
func TestValidatorOwnStaleIgnored(t *testing.T) {
	a := newAuthor(t, "a")
	v := NewValidator(testNetwork, membersOf(a))
	n := gossipNetwork(v, nil)
	msg := a.gossip(t, hb("a", 1, 1))
	if _, res := received(t, n, msg); res != pubsub.ValidationAccept {
		t.Fatalf("validate = %v; want accept", res)
	}
	own := &pubsub.Message{Message: msg, ReceivedFrom: a.id, Local: true}
	if res := n.validate(context.Background(), a.id, own); res != pubsub.ValidationIgnore {
		t.Errorf("validate(own stale) = %v; want ignore", res)
	}
	if _, res := received(t, n, a.gossip(t, hb("a", 1, 2))); res != pubsub.ValidationAccept {
		t.Fatalf("validate(1/2) = %v; want accept", res)
	}
	foreign := &pubsub.Message{Message: msg, ReceivedFrom: a.id}
	if res := n.validate(context.Background(), a.id, foreign); res != pubsub.ValidationReject {
		t.Errorf("validate(stale from the wire) = %v; want reject", res)
	}
}

// msgSink is a Handler that keeps the messages it gets.
type msgSink struct {
	mu   sync.Mutex
	msgs []Message
}

func (s *msgSink) HandleMessage(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (*msgSink) HandleLink(string, Link)         {}
func (*msgSink) HandleRTT(string, time.Duration) {}
func (*msgSink) HandlePinged(string)             {}
func (*msgSink) HandleSyncFailed(string, error)  {}

func (s *msgSink) got() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// TestValidatorSynced drives the sync intake, which unlike gossip has to
// check topic and signature itself.
func TestValidatorSynced(t *testing.T) {
	a, b, x := newAuthor(t, "a"), newAuthor(t, "b"), newAuthor(t, "x")
	topic := TopicName(testNetwork)
	wire := func(m *pubsubpb.Message) []byte { return marshal(t, m) }
	edit := func(m *pubsubpb.Message, f func(*pubsubpb.Message)) []byte {
		m = proto.CloneOf(m)
		f(m)
		return wire(m)
	}
	valid := a.gossip(t, hb("a", 3, 4))

	tests := []struct {
		name   string
		prior  [][]byte
		entry  []byte
		want   RejectReason // rejectNone: delivered
		counts map[RejectReason]uint64
	}{
		{name: "valid", entry: wire(valid)},
		{name: "garbage", entry: []byte("\xff\xff\xff"), want: RejectDecode, counts: rejected(RejectDecode)},
		{name: "wrong topic", entry: wire(a.sign(t, TopicName("other"), marshal(t, hb("a", 1, 1)))),
			want: RejectWrongTopic, counts: rejected(RejectWrongTopic)},
		{name: "no topic", entry: edit(valid, func(m *pubsubpb.Message) { m.Topic = nil }),
			want: RejectWrongTopic, counts: rejected(RejectWrongTopic)},
		{name: "tampered payload", entry: edit(valid, func(m *pubsubpb.Message) { m.Data[len(m.Data)-1] ^= 1 }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "tampered signature", entry: edit(valid, func(m *pubsubpb.Message) { m.Signature[0] ^= 1 }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "tampered seqno", entry: edit(valid, func(m *pubsubpb.Message) { m.Seqno[7] ^= 1 }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "unsigned", entry: edit(valid, func(m *pubsubpb.Message) { m.Signature = nil }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "non-member signs as a member", entry: edit(x.gossip(t, hb("a", 9, 9)), func(m *pubsubpb.Message) { m.From = []byte(a.id) }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "author not a peer ID", entry: edit(valid, func(m *pubsubpb.Message) { m.From = []byte("nobody") }),
			want: RejectBadSignature, counts: rejected(RejectBadSignature)},
		{name: "forged signer: non-member", entry: wire(x.gossip(t, hb("a", 9, 9))),
			want: RejectNotMember, counts: rejected(RejectNotMember)},
		{name: "member claims another node_id", entry: wire(b.gossip(t, hb("a", 9, 9))),
			want: RejectNodeIDMismatch, counts: rejected(RejectNodeIDMismatch)},
		{name: "wrong network_id on the right topic", entry: wire(a.sign(t, topic, marshal(t, envelope(KindHeartbeat, "other", "a", 1, 1)))),
			want: RejectWrongNetwork, counts: rejected(RejectWrongNetwork)},
		{name: "oversized", entry: wire(a.sign(t, topic, heartbeatOfSize(t, "a", 1, 1, MaxEnvelopeSize+1))),
			want: RejectOversize, counts: rejected(RejectOversize)},
		// What this node already has is no offence: dropped, not counted.
		{name: "stale", prior: [][]byte{wire(valid)}, entry: wire(a.gossip(t, hb("a", 3, 3))), want: RejectStale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := NewValidator(testNetwork, membersOf(a, b))
			sink := &msgSink{}
			n := gossipNetwork(v, sink)
			for _, p := range tc.prior {
				n.acceptSynced(&pb.SyncEntry{Message: p})
			}
			prior := len(sink.got())
			if prior != len(tc.prior) {
				t.Fatalf("delivered %d prior messages; want %d", prior, len(tc.prior))
			}
			n.acceptSynced(&pb.SyncEntry{Message: tc.entry, AgeMs: 1500})
			got := sink.got()[prior:]
			wantCounts(t, v, tc.counts)
			if tc.want != rejectNone {
				if len(got) != 0 {
					t.Errorf("delivered %v; want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("delivered %d messages; want 1", len(got))
			}
			m := got[0]
			if m.From != a.id || m.Age.Milliseconds() != 1500 || !proto.Equal(m.Raw, valid) {
				t.Errorf("delivered from %s age %v raw %v; want from %s age 1.5s raw %v", m.From, m.Age, m.Raw, a.id, valid)
			}
			if v.Accepted(KindHeartbeat) != 1 {
				t.Errorf("Accepted(heartbeat) = %d; want 1", v.Accepted(KindHeartbeat))
			}
			if entries := n.syncResponse(time.Now()).GetEntries(); len(entries) != 1 {
				t.Errorf("syncResponse has %d entries; want the delivered message", len(entries))
			}
		})
	}
}

// TestValidatorSetMembers: the member set is swapped at once; a removed
// member's messages are rejected from then on, and freshness survives a
// removal and re-admission.
func TestValidatorSetMembers(t *testing.T) {
	a, b := newAuthor(t, "a"), newAuthor(t, "b")
	v := NewValidator(testNetwork, membersOf(a, b))
	admit := func(au author, boot, seq uint64) RejectReason {
		t.Helper()
		_, r := v.Admit(au.id, marshal(t, hb(au.node, boot, seq)), true)
		return r
	}
	if r := admit(b, 1, 1); r != rejectNone {
		t.Fatalf("Admit(b 1/1) = %v; want accepted", r)
	}

	onlyA := membersOf(a)
	v.SetMembers(onlyA)
	if v.Members() != onlyA {
		t.Errorf("Members() = %p; want the set just given (%p)", v.Members(), onlyA)
	}
	if r := admit(b, 1, 2); r != RejectNotMember {
		t.Errorf("Admit(removed b 1/2) = %v; want %v", r, RejectNotMember)
	}
	if r := admit(a, 1, 1); r != rejectNone {
		t.Errorf("Admit(a 1/1) = %v; want accepted", r)
	}
	wantCounts(t, v, rejected(RejectNotMember))

	v.SetMembers(membersOf(a, b))
	if r := admit(b, 1, 1); !IsDuplicate(r) {
		t.Errorf("Admit(re-added b, replay 1/1) = %v; want a duplicate", r)
	}
	if r := admit(b, 0, 9); r != RejectStale {
		t.Errorf("Admit(re-added b, older 0/9) = %v; want %v", r, RejectStale)
	}
	if r := admit(b, 1, 3); r != rejectNone {
		t.Errorf("Admit(re-added b 1/3) = %v; want accepted", r)
	}

	v.SetMembers(nil)
	if r := admit(a, 1, 2); r != RejectNotMember {
		t.Errorf("Admit(a 1/2) with no members = %v; want %v", r, RejectNotMember)
	}
	wantCounts(t, v, map[RejectReason]uint64{RejectNotMember: 2, RejectStale: 1})
	if got := v.Accepted(KindHeartbeat); got != 3 {
		t.Errorf("Accepted(heartbeat) = %d; want 3", got)
	}
}

// TestValidatorNilMembers: a validator built before its members are known
// rejects everything instead of panicking.
func TestValidatorNilMembers(t *testing.T) {
	a := newAuthor(t, "a")
	v := NewValidator(testNetwork, nil)
	if _, r := v.Admit(a.id, marshal(t, hb("a", 1, 1)), true); r != RejectNotMember {
		t.Errorf("Admit = %v; want %v", r, RejectNotMember)
	}
}

// TestValidatorCheckDoesNotRecord: Check is side-effect free.
func TestValidatorCheckDoesNotRecord(t *testing.T) {
	a := newAuthor(t, "a")
	v := NewValidator(testNetwork, membersOf(a))
	data := marshal(t, hb("a", 1, 1))
	for i := range 2 {
		env, r := v.Check(a.id, data)
		if r != rejectNone || env.GetHeader().GetSeq() != 1 {
			t.Fatalf("Check #%d = %v, %v; want the envelope", i, env, r)
		}
	}
	if _, r := v.Check(a.id, []byte("\xff")); r != RejectDecode {
		t.Errorf("Check(garbage) = %v; want %v", r, RejectDecode)
	}
	wantCounts(t, v, nil)
	if got := v.Accepted(KindHeartbeat); got != 0 {
		t.Errorf("Accepted(heartbeat) after Check = %d; want 0", got)
	}
	if _, r := v.Admit(a.id, data, true); r != rejectNone {
		t.Errorf("Admit after Check = %v; want accepted", r)
	}
}

// TestValidatorCounters covers Accepted, Rejected, CountReject and the
// metric labels.
func TestValidatorCounters(t *testing.T) {
	a := newAuthor(t, "a")
	v := NewValidator(testNetwork, membersOf(a))
	for _, env := range []*pb.Envelope{
		hb("a", 1, 1), hb("a", 1, 2),
		envelope(KindReport, testNetwork, "a", 1, 1),
		hb("a", 1, 1), // stale, counted
		hb("a", 1, 2), // duplicate, not counted
	} {
		v.Admit(a.id, marshal(t, env), true)
	}
	v.Admit(a.id, marshal(t, hb("a", 1, 1)), false) // stale, not counted
	v.Admit(a.id, []byte("\xff"), false)            // decode, not counted
	for k, want := range map[Kind]uint64{KindHeartbeat: 2, KindReport: 1, KindDelivered: 0, numKinds: 0, Kind(200): 0} {
		if got := v.Accepted(k); got != want {
			t.Errorf("Accepted(%v) = %d; want %d", k, got, want)
		}
	}
	v.CountReject(RejectBadSignature)
	v.CountReject(RejectWrongTopic)
	v.CountReject(RejectWrongTopic)
	v.CountReject(rejectNone)       // ignored
	v.CountReject(numRejectReasons) // ignored
	v.CountReject(RejectReason(255))
	wantCounts(t, v, map[RejectReason]uint64{RejectStale: 1, RejectBadSignature: 1, RejectWrongTopic: 2})

	wantNames := []string{"oversize", "decode", "no_header", "no_body", "wrong_network",
		"not_member", "node_id_mismatch", "stale", "bad_signature", "wrong_topic",
		"implausible_position", "alert_id", "monitor"}
	var names []string
	for _, r := range RejectReasons() {
		names = append(names, r.String())
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("RejectReasons() labels = %q; want %q", names, wantNames)
	}
	if got := RejectReason(200).String(); got != "unknown" {
		t.Errorf("RejectReason(200).String() = %q; want %q", got, "unknown")
	}
	for k, want := range map[Kind]string{KindHeartbeat: "heartbeat", KindReport: "report", KindDelivered: "delivered", Kind(9): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", k, got, want)
		}
	}
}

// TestValidatorConcurrentReplay: of one message admitted from many goroutines
// at once exactly one is accepted; the rest are duplicates, not rejections.
func TestValidatorConcurrentReplay(t *testing.T) {
	a := newAuthor(t, "a")
	v := NewValidator(testNetwork, membersOf(a))
	data := marshal(t, hb("a", 1, 1))
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { v.Admit(a.id, data, true) })
	}
	wg.Wait()
	if got := v.Accepted(KindHeartbeat); got != 1 {
		t.Errorf("Accepted(heartbeat) = %d; want 1", got)
	}
	wantCounts(t, v, nil)
	if got := v.Duplicates(); got != n-1 {
		t.Errorf("Duplicates() = %d; want %d", got, n-1)
	}
}

// TestValidatorKeyChange: a member whose key changes starts clean. A
// position forged with the old key (boot far ahead) does not hold back the
// new key's messages, whether the key changes in place or the member is
// removed and re-added.
func TestValidatorKeyChange(t *testing.T) {
	a, b, b2 := newAuthor(t, "a"), newAuthor(t, "b"), newAuthor(t, "b-rotated")
	b2.node = "b" // b's new key
	v := NewValidator(testNetwork, membersOf(a, b))
	if _, r := v.Admit(b.id, marshal(t, hb("b", MaxBoot, 1)), true); r != rejectNone {
		t.Fatalf("Admit(b at MaxBoot) = %v; want accepted", r)
	}
	if got := v.SetMembers(membersOf(a, b2)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("SetMembers(new key of b) reset %q; want [b]", got)
	}
	if _, r := v.Admit(b2.id, marshal(t, hb("b", 5, 1)), true); r != rejectNone {
		t.Errorf("Admit(new key of b, 5/1) = %v; want accepted", r)
	}
	// Removed, then re-added with the old key: the new key's position does
	// not hold it back either.
	v.SetMembers(membersOf(a))
	v.SetMembers(membersOf(a, b))
	if _, r := v.Admit(b.id, marshal(t, hb("b", 1, 1)), true); r != rejectNone {
		t.Errorf("Admit(old key of b again, 1/1) = %v; want accepted", r)
	}
	wantCounts(t, v, nil)
}

// FuzzValidatorCheck feeds arbitrary payloads to the validator, both as the
// payload of a validly signed message (gossip and sync) and as a whole
// synced pubsub message. Nothing may panic, and every outcome is either a
// counted rejection or an envelope that satisfies every admission rule.
func FuzzValidatorCheck(f *testing.F) {
	a := newAuthor(f, "a")
	f.Add(marshal(f, hb("a", 1, 1)))
	f.Add(marshal(f, envelope(KindReport, testNetwork, "a", 2, 3)))
	f.Add(marshal(f, envelope(KindDelivered, testNetwork, "a", 2, 3)))
	f.Add(marshal(f, hb("b", 1, 1)))
	f.Add(marshal(f, envelope(KindHeartbeat, "other", "a", 1, 1)))
	f.Add(marshal(f, &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a"}}))
	f.Add(marshal(f, a.gossip(f, hb("a", 1, 1)))) // a whole signed pubsub message
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff"))

	f.Fuzz(func(t *testing.T, data []byte) {
		v := NewValidator(testNetwork, membersOf(a, newAuthor(t, "b")))
		env, reason := v.Check(a.id, data)
		checkOutcome(t, "Check", data, env, reason)
		if reason == RejectStale || reason == RejectBadSignature || reason == RejectWrongTopic {
			t.Fatalf("Check = %v; Check never decides that", reason)
		}

		// Gossip: the same payload, signed by a, through the topic validator.
		signed := a.sign(t, TopicName(testNetwork), data)
		pm := &pubsub.Message{Message: signed, ReceivedFrom: a.id}
		res := gossipNetwork(v, nil).validate(context.Background(), a.id, pm)
		wantRes := pubsub.ValidationAccept
		if reason != rejectNone {
			wantRes = pubsub.ValidationReject
		}
		if res != wantRes {
			t.Fatalf("validate = %v; want %v (Check said %v)", res, wantRes, reason)
		}
		got, _ := pm.ValidatorData.(*pb.Envelope)
		checkOutcome(t, "validate", data, got, reasonOf(res, reason))
		counts := map[RejectReason]uint64{}
		if reason != rejectNone {
			counts[reason] = 1
		}
		wantCounts(t, v, counts)

		// Sync: a fresh validator gets the same signed message and must agree.
		sv := NewValidator(testNetwork, v.Members())
		sink := &msgSink{}
		gossipNetwork(sv, sink).acceptSynced(&pb.SyncEntry{Message: marshal(t, signed)})
		if delivered := len(sink.got()); (delivered == 1) != (reason == rejectNone) || delivered > 1 {
			t.Fatalf("sync delivered %d; Check said %v", delivered, reason)
		}
		wantCounts(t, sv, counts)

		// Sync: data as a whole pubsub message. Only a message that is
		// validly signed by a member on the topic may get through.
		sv = NewValidator(testNetwork, v.Members())
		sink = &msgSink{}
		gossipNetwork(sv, sink).acceptSynced(&pb.SyncEntry{Message: data})
		total := uint64(0)
		for _, c := range sv.Rejected() {
			total += c
		}
		msgs := sink.got()
		if len(msgs)+int(total) != 1 {
			t.Fatalf("sync of raw bytes: %d delivered, %d rejections; want exactly one outcome", len(msgs), total)
		}
		for _, m := range msgs {
			from, err := verifySigned(m.Raw)
			if err != nil || from != m.From || m.Raw.GetTopic() != TopicName(testNetwork) {
				t.Fatalf("sync delivered %v from %s: verifySigned = %s, %v", m.Raw, m.From, from, err)
			}
			checkOutcome(t, "sync", m.Raw.GetData(), m.Env, rejectNone)
		}
	})
}

func reasonOf(res pubsub.ValidationResult, r RejectReason) RejectReason {
	if res == pubsub.ValidationAccept {
		return rejectNone
	}
	return r
}

// checkOutcome asserts that (env, reason) is a rejection with a known reason
// and no envelope, or an envelope that meets every admission rule for data
// from author "a" on the test network.
func checkOutcome(t *testing.T, what string, data []byte, env *pb.Envelope, reason RejectReason) {
	t.Helper()
	if reason != rejectNone {
		if env != nil || reason >= numRejectReasons {
			t.Fatalf("%s = %v, %v; want a known reason and no envelope", what, env, reason)
		}
		return
	}
	if env == nil {
		t.Fatalf("%s accepted without an envelope", what)
	}
	h := env.GetHeader()
	if _, ok := KindOf(env); !ok || h == nil || h.GetNetworkId() != testNetwork || h.GetNodeId() != "a" || len(data) > MaxEnvelopeSize {
		t.Fatalf("%s accepted %v (%d bytes) against the rules", what, env, len(data))
	}
	if want := mustUnmarshalEnvelope(t, data); !proto.Equal(env, want) {
		t.Fatalf("%s returned %v; payload decodes to %v", what, env, want)
	}
}

// monitorEnv is a MonitorReport of member a with results; nil results are
// valid "up" results named m<i>.
func monitorEnv(results []*pb.MonitorResult) *pb.Envelope {
	for i, r := range results {
		if r == nil {
			results[i] = &pb.MonitorResult{Name: fmt.Sprintf("m%d", i), State: pb.MonitorState_MONITOR_STATE_UP}
		}
	}
	return &pb.Envelope{Header: &pb.Header{NetworkId: testNetwork, NodeId: "a", BootId: 1, Seq: 1},
		Body: &pb.Envelope_Monitors{Monitors: &pb.MonitorReport{Results: results}}}
}
