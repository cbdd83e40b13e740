package p2p

import (
	"context"
	"fmt"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// SyncProtocol is the request/response protocol a node uses to get a member's
// latest admitted messages, so its first view is complete at once.
const SyncProtocol = protocol.ID("/meshmon/sync/1")

const (
	maxSyncRequest  = 1 << 10
	maxSyncResponse = 8 << 20
	syncTimeout     = 5 * time.Second
)

// handleSync answers a member's SyncRequest with the latest heartbeat and
// report of every author this node has admitted.
func (h *Host) handleSync(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	var req pb.SyncRequest
	if err := pbio.NewDelimitedReader(s, maxSyncRequest).ReadMsg(&req); err != nil {
		_ = s.Reset()
		return
	}
	n := h.network(req.GetNetworkId())
	if n == nil {
		_ = s.Reset()
		return
	}
	if _, ok := n.validator.Members().NodeID(s.Conn().RemotePeer()); !ok {
		_ = s.Reset()
		return
	}
	resp := n.syncResponse(time.Now())
	if err := pbio.NewDelimitedWriter(s).WriteMsg(resp); err != nil {
		_ = s.Reset()
	}
}

func (n *Network) syncResponse(now time.Time) *pb.SyncResponse {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp := &pb.SyncResponse{Entries: make([]*pb.SyncEntry, 0, len(n.latest))}
	for _, e := range n.latest {
		age := now.Sub(e.at).Milliseconds()
		resp.Entries = append(resp.Entries, &pb.SyncEntry{Message: e.raw, AgeMs: uint32(max(age, 0))})
	}
	return resp
}

// requestSync asks member p for its latest messages and feeds every one that
// verifies and is newer than what this node has through the handler.
func (n *Network) requestSync(p peer.ID) error {
	ctx, cancel := context.WithTimeout(n.ctx, syncTimeout)
	defer cancel()
	s, err := n.host.h.NewStream(ctx, p, SyncProtocol)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	if err := pbio.NewDelimitedWriter(s).WriteMsg(&pb.SyncRequest{NetworkId: n.id}); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	var resp pb.SyncResponse
	if err := pbio.NewDelimitedReader(s, maxSyncResponse).ReadMsg(&resp); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	for _, e := range resp.GetEntries() {
		n.acceptSynced(e)
	}
	return nil
}

// acceptSynced checks one synced message exactly like gossip (signature,
// topic, member, node_id, network, freshness) and delivers it.
func (n *Network) acceptSynced(e *pb.SyncEntry) {
	raw := &pubsubpb.Message{}
	if err := proto.Unmarshal(e.GetMessage(), raw); err != nil {
		n.validator.CountReject(RejectDecode)
		return
	}
	if raw.GetTopic() != n.topicName {
		n.validator.CountReject(RejectWrongTopic)
		return
	}
	from, err := verifySigned(raw)
	if err != nil {
		n.validator.CountReject(RejectBadSignature)
		return
	}
	// Stale entries are what this node already has: not an offence.
	env, reason := n.validator.Admit(from, raw.GetData(), false)
	if reason != rejectNone {
		if reason != RejectStale {
			n.validator.CountReject(reason)
		}
		return
	}
	age := time.Duration(e.GetAgeMs()) * time.Millisecond
	n.remember(env, raw, time.Now().Add(-age))
	n.handler.HandleMessage(Message{From: from, Env: env, Raw: raw, Age: age})
}

// Received is one admitted message as it came off the wire.
type Received struct {
	// Raw is the marshalled pubsub message, signature included.
	Raw []byte
	// At is when this node admitted it.
	At time.Time
}

// Latest returns the latest admitted heartbeat and report of every author
// (this node's own included), as received, for audit through the API.
func (n *Network) Latest() []Received {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Received, 0, len(n.latest))
	for _, e := range n.latest {
		out = append(out, Received{Raw: e.raw, At: e.at})
	}
	return out
}
