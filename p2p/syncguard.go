package p2p

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// Reasons a /meshmon/sync/1 request is refused, the reason label of
// meshmon_sync_refused_total.
const (
	// SyncRefusedNotMember: the remote peer is a member of no joined
	// network; nothing of its stream was read.
	SyncRefusedNotMember = "not_member"
	// SyncRefusedOversize: the declared request length is beyond what the
	// members it can speak for could send (syncRequestLimit).
	SyncRefusedOversize = "oversize"
	// SyncRefusedNoMemory: the stream's resource scope would not grant the
	// memory for the request.
	SyncRefusedNoMemory = "no_memory"
	// SyncRefusedMalformed: the request did not arrive whole, did not
	// decode, or names a network the peer is not a member of.
	SyncRefusedMalformed = "malformed"
)

// syncRefusedReasons lists every reason.
func syncRefusedReasons() []string {
	return []string{SyncRefusedNotMember, SyncRefusedOversize, SyncRefusedNoMemory, SyncRefusedMalformed}
}

// syncRefusals counts refused sync requests by reason.
type syncRefusals struct {
	counts map[string]*atomic.Uint64 // fixed at construction
}

// newSyncRefusals makes the counters and, when reg is set, exports them as
// meshmon_sync_refused_total{reason}.
func newSyncRefusals(reg prometheus.Registerer) (*syncRefusals, error) {
	r := &syncRefusals{counts: map[string]*atomic.Uint64{}}
	for _, reason := range syncRefusedReasons() {
		c := &atomic.Uint64{}
		r.counts[reason] = c
		if reg == nil {
			continue
		}
		f := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "meshmon_sync_refused_total",
			Help:        "Sync (/meshmon/sync/1) requests this node refused, by reason (not_member, oversize, no_memory, malformed).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(c.Load()) })
		if err := reg.Register(f); err != nil {
			return nil, fmt.Errorf("register sync metrics: %w", err)
		}
	}
	return r, nil
}

func (r *syncRefusals) add(reason string) {
	if c := r.counts[reason]; c != nil {
		c.Add(1)
	}
}

// SyncRefused returns how many sync requests this host refused, by reason
// (every reason present, 0 when none).
func (h *Host) SyncRefused() map[string]uint64 {
	out := make(map[string]uint64, len(h.syncRefused.counts))
	for reason, c := range h.syncRefused.counts {
		out[reason] = c.Load()
	}
	return out
}

// syncEntryOverhead bounds what a SyncEntry adds to its envelope: the
// pubsub message's from (a 38-byte peer ID), seqno (8), topic
// ("/meshmon/1/" and an id of up to 64), signature (64) and key (36), the
// entry's age, and every field's tag and length.
const syncEntryOverhead = 1 << 10

// syncKindsPerAuthor is how many messages per author a node keeps for sync
// (its latest of every kind but Delivered: heartbeat, report and monitor
// report; Network.remember).
const syncKindsPerAuthor = int(numKinds) - 1

// syncRequestLimit is the largest sync request a peer can need to send to
// a host whose networks it shares have members members in all: the latest
// message of each kind per member, each at most MaxEnvelopeSize, plus the
// network id and framing.
func syncRequestLimit(members int) int {
	return members*syncKindsPerAuthor*(MaxEnvelopeSize+syncEntryOverhead) + 1<<10
}

// syncMembers returns the members of every joined network p is a member of,
// summed; 0 when p is a member of none.
func (h *Host) syncMembers(p peer.ID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for _, n := range h.networks {
		m := n.validator.Members()
		if _, ok := m.NodeID(p); ok {
			total += m.Len()
		}
	}
	return total
}

// errSyncRefused carries the reason of a refused request.
type errSyncRefused struct {
	reason string
	err    error
}

func (e *errSyncRefused) Error() string { return "sync refused: " + e.reason + ": " + e.err.Error() }
func (e *errSyncRefused) Unwrap() error { return e.err }

// readSyncRequest reads one length-delimited SyncRequest from s, refusing
// before reading anything when the remote peer is no member, and refusing
// a declared length beyond limit or beyond what the stream's resource
// scope grants. The memory is charged to the stream's scope while the
// request is read and decoded.
func (h *Host) readSyncRequest(s network.Stream, req *pb.SyncRequest) error {
	members := h.syncMembers(s.Conn().RemotePeer())
	if members == 0 {
		return &errSyncRefused{SyncRefusedNotMember, errors.New("remote peer is not a member")}
	}
	scope := s.Scope()
	reserve := func(n int) error { return scope.ReserveMemory(n, network.ReservationPriorityHigh) }
	return readSyncFrame(s, syncRequestLimit(members), reserve, scope.ReleaseMemory, req)
}

// readSyncFrame reads one varint-delimited SyncRequest of at most limit
// bytes from r into req. The body's memory is reserved before it is
// allocated and released before returning; a refused reservation refuses
// the request.
func readSyncFrame(r io.Reader, limit int, reserve func(int) error, release func(int), req *pb.SyncRequest) error {
	length, err := readUvarint(r)
	if err != nil {
		return &errSyncRefused{SyncRefusedMalformed, fmt.Errorf("length: %w", err)}
	}
	if length > uint64(limit) {
		return &errSyncRefused{SyncRefusedOversize, fmt.Errorf("declared %d bytes, limit %d", length, limit)}
	}
	size := int(length)
	if err := reserve(size); err != nil {
		return &errSyncRefused{SyncRefusedNoMemory, err}
	}
	defer release(size)
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return &errSyncRefused{SyncRefusedMalformed, fmt.Errorf("body: %w", err)}
	}
	if err := proto.Unmarshal(buf, req); err != nil {
		return &errSyncRefused{SyncRefusedMalformed, fmt.Errorf("decode: %w", err)}
	}
	return nil
}

// readUvarint reads a protobuf varint one byte at a time, so nothing past
// it is consumed.
func readUvarint(r io.Reader) (uint64, error) {
	var (
		x     uint64
		shift uint
		b     [1]byte
	)
	for i := 0; i < 10; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if b[0] < 0x80 {
			if i == 9 && b[0] > 1 {
				return 0, errors.New("varint overflows 64 bits")
			}
			return x | uint64(b[0])<<shift, nil
		}
		x |= uint64(b[0]&0x7f) << shift
		shift += 7
	}
	return 0, errors.New("varint overflows 64 bits")
}
