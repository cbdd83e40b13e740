package p2p

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Every gossip message or RPC that GossipSub itself refuses or drops is
// counted by reason (meshmon_gossip_refused_total), besides the rejections
// of the topic validator (meshmon_messages_rejected_total) and the gate
// (meshmon_gossip_dropped_total). Most reasons come from pubsub's
// RawTracer; the two it does not report (a frame that is no RPC, an RPC
// over the size limit) only show in its logs, so a log handler counts them.

// Reasons of meshmon_gossip_refused_total.
const (
	RefusedDuplicate    = "duplicate"         // a message already seen (a replay within the dedup window)
	RefusedQueueFull    = "queue_full"        // the validation queue was full
	RefusedThrottled    = "throttled"         // validation throttled
	RefusedBadSignature = "bad_signature"     // missing, unexpected or invalid signature
	RefusedBlacklisted  = "blacklisted"       // from a peer (or author) that is a member of no joined network
	RefusedSelfOrigin   = "self_origin"       // a message claiming this node as author, from elsewhere
	RefusedValidation   = "validation"        // the topic validator rejected it (reason in messages_rejected_total)
	RefusedIgnored      = "ignored"           // the topic validator ignored it (a duplicate via sync, a stale own)
	RefusedOtherTopic   = "other_topic"       // a message on a topic this node is not on
	RefusedJunkFrame    = "junk_frame"        // a frame that is no pubsub RPC (the stream is reset)
	RefusedOversizeRPC  = "oversize_rpc"      // an RPC over the size limit (the stream is reset)
	RefusedControlSize  = "oversize_control"  // an RPC whose control part is too large
	RefusedOutboundDrop = "outbound_dropped"  // an RPC to a peer dropped because its queue was full
	RefusedUndelivered  = "subscription_full" // a message dropped because this node read its subscription too slowly
)

// GossipRefusedReasons lists the reasons, for metrics that show zeros too.
func GossipRefusedReasons() []string {
	return []string{RefusedDuplicate, RefusedQueueFull, RefusedThrottled, RefusedBadSignature, RefusedBlacklisted,
		RefusedSelfOrigin, RefusedValidation, RefusedIgnored, RefusedOtherTopic, RefusedJunkFrame,
		RefusedOversizeRPC, RefusedControlSize, RefusedOutboundDrop, RefusedUndelivered}
}

// gossipCounts counts refusals by reason. It is safe for concurrent use.
type gossipCounts struct{ m sync.Map } // string → *atomic.Uint64

func (c *gossipCounts) add(reason string) {
	v, _ := c.m.LoadOrStore(reason, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

func (c *gossipCounts) snapshot() map[string]uint64 {
	out := make(map[string]uint64, 16)
	for _, r := range GossipRefusedReasons() {
		out[r] = 0
		if v, ok := c.m.Load(r); ok {
			out[r] = v.(*atomic.Uint64).Load()
		}
	}
	return out
}

// GossipRefused returns GossipSub's own refusals so far by reason.
func (h *Host) GossipRefused() map[string]uint64 { return h.refused.snapshot() }

// gossipTracer is the pubsub RawTracer that counts.
type gossipTracer struct{ c *gossipCounts }

var _ pubsub.RawTracer = gossipTracer{}

func (t gossipTracer) RejectMessage(_ *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationQueueFull:
		t.c.add(RefusedQueueFull)
	case pubsub.RejectValidationThrottled:
		t.c.add(RefusedThrottled)
	case pubsub.RejectMissingSignature, pubsub.RejectUnexpectedSignature, pubsub.RejectUnexpectedAuthInfo, pubsub.RejectInvalidSignature:
		t.c.add(RefusedBadSignature)
	case pubsub.RejectBlacklstedPeer, pubsub.RejectBlacklistedSource:
		t.c.add(RefusedBlacklisted)
	case pubsub.RejectSelfOrigin:
		t.c.add(RefusedSelfOrigin)
	case pubsub.RejectValidationFailed:
		t.c.add(RefusedValidation)
	case pubsub.RejectValidationIgnored:
		t.c.add(RefusedIgnored)
	}
}
func (t gossipTracer) DuplicateMessage(*pubsub.Message)                   { t.c.add(RefusedDuplicate) }
func (t gossipTracer) DropRPC(*pubsub.RPC, peer.ID)                       { t.c.add(RefusedOutboundDrop) }
func (t gossipTracer) UndeliverableMessage(*pubsub.Message)               { t.c.add(RefusedUndelivered) }
func (gossipTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (gossipTracer) RemovePeer(peer.ID)                                   {}
func (gossipTracer) Join(string)                                          {}
func (gossipTracer) Leave(string)                                         {}
func (gossipTracer) Graft(peer.ID, string)                                {}
func (gossipTracer) Prune(peer.ID, string)                                {}
func (gossipTracer) ValidateMessage(*pubsub.Message)                      {}
func (gossipTracer) DeliverMessage(*pubsub.Message)                       {}
func (gossipTracer) ThrottlePeer(peer.ID)                                 {}
func (gossipTracer) RecvRPC(*pubsub.RPC)                                  {}
func (gossipTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (gossipTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (gossipTracer) OnClosedOutboundStream(peer.ID)                       {}
func (gossipTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}

// countingHandler passes pubsub's logs to the host's handler and counts the
// refusals that pubsub only logs. It sees every level (the counted lines
// are at DEBUG and WARN) and forwards only what the inner handler takes.
type countingHandler struct {
	inner slog.Handler
	c     *gossipCounts
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "bogus rpc from":
		h.c.add(RefusedJunkFrame)
	case "RPC's control message is too large. Disconnecting. If this is a mistake, you should increase `WithMaxControlMessageSize`":
		// pubsub logs a frame that does not even parse as protobuf
		// under the same line; its error says which.
		reason := RefusedJunkFrame
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && strings.Contains(a.Value.String(), "exceeds max control message size") {
				reason = RefusedControlSize
			}
			return true
		})
		h.c.add(reason)
	case "error reading rpc":
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && strings.Contains(a.Value.String(), "too large") {
				h.c.add(RefusedOversizeRPC)
			}
			return true
		})
	case "received message in topic we didn't subscribe to; ignoring message":
		h.c.add(RefusedOtherTopic)
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return countingHandler{inner: h.inner.WithAttrs(as), c: h.c}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{inner: h.inner.WithGroup(name), c: h.c}
}
