package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// SyncProtocol is the push-pull protocol two members use to hand each other
// the latest admitted messages the other lacks, so a joiner's first view is
// complete at once and no message published before two members saw each
// other on the topic is missed until its author's next one.
//
// Every node starts an exchange with each member it sees join the topic
// (GossipSub's PeerJoin), at most syncParallel at once. The request pushes
// the requester's own latest messages and lists the position of every
// message it holds (SyncRequest.held); the answer carries the responder's
// latest messages that are newer, or of authors and kinds not listed.
// Flood publishing reaches exactly the peers known on the topic, so a
// message of this node's published before it saw the member join reaches
// the member through the exchange, and one published after reaches it
// through gossip.
const SyncProtocol = protocol.ID("/meshmon/sync/1")

// handleSync takes in a member's pushed messages and answers with the latest
// admitted messages of every author that are newer than those the request
// lists as held (heldPositions; a malformed list refuses it). A peer that
// is a member of no joined network has nothing of its stream read, and a
// request is bounded and charged to the stream's memory scope
// (readSyncRequest); every refusal is counted by reason.
func (h *Host) handleSync(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	var req pb.SyncRequest
	if err := h.readSyncRequest(s, &req); err != nil {
		var refused *errSyncRefused
		if errors.As(err, &refused) {
			h.syncRefused.add(refused.reason)
		}
		h.log.Debug("sync request refused", "peer", s.Conn().RemotePeer().String(), "err", err)
		_ = s.Reset()
		return
	}
	n := h.network(req.GetNetworkId())
	if n == nil {
		h.syncRefused.add(SyncRefusedMalformed)
		_ = s.Reset()
		return
	}
	if _, ok := n.validator.Members().NodeID(s.Conn().RemotePeer()); !ok {
		h.syncRefused.add(SyncRefusedMalformed)
		_ = s.Reset()
		return
	}
	held, err := heldPositions(req.GetHeld(), maxHeld(n.validator.Members().Len()))
	if err != nil {
		h.syncRefused.add(SyncRefusedMalformed)
		h.log.Debug("sync request refused", "peer", s.Conn().RemotePeer().String(), "err", err)
		_ = s.Reset()
		return
	}
	// Answer first: what the requester pushed cannot be in the answer anyway.
	// A push asks for nothing back: answering it with every author's latest
	// messages would make each push a full sync. A request answers what the
	// requester lacks: the messages newer than those it holds.
	resp := &pb.SyncResponse{}
	if !req.GetPushOnly() {
		resp = &pb.SyncResponse{Entries: n.syncEntries(time.Now(), held)}
		n.syncStats.answered.Add(1)
		n.syncStats.sent(resp.GetEntries())
	}
	if err := pbio.NewDelimitedWriter(s).WriteMsg(resp); err != nil {
		_ = s.Reset()
	}
	n.syncStats.received(req.GetEntries())
	for _, e := range req.GetEntries() {
		n.acceptSynced(e)
	}
}

// syncResponse is the answer to a request that holds nothing.
func (n *Network) syncResponse(now time.Time) *pb.SyncResponse {
	return &pb.SyncResponse{Entries: n.syncEntries(now, nil)}
}

// syncEntries is the latest admitted message of every author and kind
// (but Delivered) that is newer than the position held names for it (all
// of them when held is nil).
func (n *Network) syncEntries(now time.Time, held map[freshKey]Position) []*pb.SyncEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*pb.SyncEntry, 0, len(n.latest))
	for k, e := range n.latest {
		if h, ok := held[k]; ok && !e.pos.After(h) {
			continue
		}
		out = append(out, syncEntryOf(e, now))
	}
	return out
}

// ownLatest is this node's own latest admitted messages: what an exchange
// pushes.
func (n *Network) ownLatest(now time.Time) []*pb.SyncEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*pb.SyncEntry
	for k, e := range n.latest {
		if k.node == n.self {
			out = append(out, syncEntryOf(e, now))
		}
	}
	return out
}

func syncEntryOf(e syncEntry, now time.Time) *pb.SyncEntry {
	age := now.Sub(e.at).Milliseconds()
	return &pb.SyncEntry{Message: e.raw, AgeMs: uint32(min(max(age, 0), 1<<31))}
}

// syncHeld lists the position of every message this node holds for sync,
// so that a member answers only what this node lacks.
func (n *Network) syncHeld() []*pb.SyncHeld {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*pb.SyncHeld, 0, len(n.latest))
	for k, e := range n.latest {
		f, ok := k.kind.bodyField()
		if !ok {
			continue
		}
		out = append(out, &pb.SyncHeld{NodeId: k.node, Kind: f, BootId: e.pos.Boot, Seq: e.pos.Seq})
	}
	return out
}

// syncLoop starts a push-pull exchange with every member GossipSub sees join
// the topic (at start, after a reconnect, after a partition heals), and
// hands every member it sees leave to the stranded-member push (noteLeave).
func (n *Network) syncLoop(events *pubsub.TopicEventHandler) {
	defer n.wg.Done()
	defer events.Cancel()
	for {
		ev, err := events.NextPeerEvent(n.ctx)
		if err != nil {
			return
		}
		if ev.Peer == n.host.ID() {
			continue
		}
		node, ok := n.validator.Members().NodeID(ev.Peer)
		if !ok {
			continue
		}
		if ev.Type == pubsub.PeerLeave {
			n.noteLeave(ev.Peer)
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			// At most syncParallel exchanges at once: a node that meets
			// many members at once (its start, a healed partition) then
			// learns most of what it lacks from the first answers, and
			// tells the later ones that it holds it.
			select {
			case n.syncSlots <- struct{}{}:
			case <-n.ctx.Done():
				return
			}
			defer func() { <-n.syncSlots }()
			if err := n.requestSync(ev.Peer); err != nil && n.ctx.Err() == nil {
				// Counted (meshmon_sync_failures_total) and handed over
				// (an event): gossip still brings what comes next.
				n.syncFailures.Add(1)
				n.handler.HandleSyncFailed(node, fmt.Errorf("the exchange when it joined the topic failed: %w", err))
			}
		}()
	}
}

// syncParallel is how many sync exchanges a network runs at once.
const syncParallel = 4

// requestSync pushes this node's own latest messages to member p (p's own
// request brings it the rest), tells p the position of every message this
// node holds, and feeds every message of p's answer (what this node lacks)
// that verifies through the handler.
func (n *Network) requestSync(p peer.ID) error {
	entries := n.ownLatest(time.Now())
	n.syncStats.requested.Add(1)
	n.syncStats.sent(entries)
	return n.exchangeWith(p, &pb.SyncRequest{NetworkId: n.id, Entries: entries, Held: n.syncHeld()})
}

// push hands entries to p and asks for nothing back.
func (n *Network) push(p peer.ID, entries []*pb.SyncEntry) error {
	return n.exchangeWith(p, &pb.SyncRequest{NetworkId: n.id, Entries: entries, PushOnly: true})
}

// exchangeWith sends req to p and takes in what it answers.
func (n *Network) exchangeWith(p peer.ID, req *pb.SyncRequest) error {
	ctx, cancel := context.WithTimeout(n.ctx, syncTimeout)
	defer cancel()
	s, err := n.host.h.NewStream(allowLimited(ctx, "meshmon: sync"), p, SyncProtocol)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	if err := pbio.NewDelimitedWriter(s).WriteMsg(req); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	var resp pb.SyncResponse
	if err := pbio.NewDelimitedReader(s, maxSyncMessage).ReadMsg(&resp); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	n.syncStats.received(resp.GetEntries())
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
	env, reason, other := n.validator.admit(from, raw.GetData(), false)
	if reason != rejectNone {
		if reason != RejectStale && !IsDuplicate(reason) {
			n.validator.CountReject(reason)
		}
		return
	}
	var clash *Clash
	if other != 0 {
		clash = n.clash(from, env, other)
	}
	n.syncStats.admitted.Add(1)
	age := time.Duration(e.GetAgeMs()) * time.Millisecond
	n.remember(env, raw, time.Now().Add(-age))
	n.handler.HandleMessage(Message{From: from, Env: env, Raw: raw, Age: age, Clash: clash})
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

// StrandedPushes counts the pushes of this node's messages by sync to a
// directly connected member that gossip did not reach (pushStranded): one
// per message and member.
func (n *Network) StrandedPushes() uint64 { return n.strandedPushes.Load() }

// DialFailures counts the dials of members that failed (the dial loop
// retries them).
func (n *Network) DialFailures() uint64 { return n.dialFailures.Load() }

// SyncFailures counts the sync exchanges this node started (a member
// joined the topic) that failed.
func (n *Network) SyncFailures() uint64 { return n.syncFailures.Load() }

// StrandedPushFailures counts the pushes of StrandedPushes that failed.
func (n *Network) StrandedPushFailures() uint64 { return n.strandedPushFailures.Load() }
