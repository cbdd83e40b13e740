package p2p

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Non-members get nothing and cost nothing (DESIGN.md §5). Connections
// cannot be gated by peer ID (AutoNAT dials back from random IDs), so the
// gate sits in GossipSub: a peer that is a member of no joined network is
// "blacklisted" for pubsub (no stream is opened to it, so it never learns
// this node's subscriptions), and every RPC it sends is dropped before
// validation and counted. A member's RPC that publishes on the topic of a
// network it is not a member of is dropped too. A peer whose RPCs keep being
// dropped is disconnected, and its RPCs are dropped unread for a backoff.

// Gate drop reasons, the label values of meshmon_gossip_dropped_total.
const (
	GateNotMember   = "not_member"   // an RPC from a peer that is no member of any joined network
	GateWrongTopic  = "wrong_topic"  // a member published on a network it is not a member of
	GateBackedOff   = "backed_off"   // an RPC from a peer disconnected for misbehaving, within its backoff
	GateDisconnects = "disconnected" // peers disconnected by the gate (counted once each time)
)

// GateReasons lists the gate's counters, for metrics that show zeros too.
func GateReasons() []string {
	return []string{GateNotMember, GateWrongTopic, GateBackedOff, GateDisconnects}
}

var errGated = errors.New("rpc from a non-member")

type strikes struct {
	n     int
	since time.Time
	until time.Time // backoff end
}

// rpcGate implements the gate for one host. It is safe for concurrent use.
type rpcGate struct {
	h *Host

	// counts by reason; messages counts the publishes inside dropped RPCs.
	counts   sync.Map // string → *atomic.Uint64
	messages atomic.Uint64

	// mu protects the following fields.
	mu  sync.Mutex
	bad map[peer.ID]*strikes
}

func newRPCGate(h *Host) *rpcGate { return &rpcGate{h: h, bad: map[peer.ID]*strikes{}} }

func (g *rpcGate) count(reason string) {
	c, _ := g.counts.LoadOrStore(reason, new(atomic.Uint64))
	c.(*atomic.Uint64).Add(1)
}

// Counts returns the gate's counters by reason (every reason of
// GateReasons present), and the publishes inside dropped RPCs.
func (g *rpcGate) Counts() (map[string]uint64, uint64) {
	out := make(map[string]uint64, 4)
	for _, r := range GateReasons() {
		if c, ok := g.counts.Load(r); ok {
			out[r] = c.(*atomic.Uint64).Load()
		} else {
			out[r] = 0
		}
	}
	return out, g.messages.Load()
}

// inspect is the pubsub RPC inspector.
func (g *rpcGate) inspect(from peer.ID, rpc *pubsub.RPC) error {
	now := time.Now()
	if g.backedOff(from, now) {
		g.count(GateBackedOff)
		g.messages.Add(uint64(len(rpc.GetPublish())))
		return errGated
	}
	reason := ""
	if !g.h.memberOfAny(from) {
		reason = GateNotMember
	} else {
		for _, m := range rpc.GetPublish() {
			if joined, member := g.h.topicMember(from, m.GetTopic()); joined && !member {
				reason = GateWrongTopic
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	g.count(reason)
	g.messages.Add(uint64(len(rpc.GetPublish())))
	g.strike(from, now)
	return errGated
}

func (g *rpcGate) backedOff(p peer.ID, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.bad[p]
	return ok && now.Before(s.until)
}

// strike records a dropped RPC of p and disconnects p after gateStrikes
// within gateWindow.
func (g *rpcGate) strike(p peer.ID, now time.Time) {
	g.mu.Lock()
	s, ok := g.bad[p]
	if !ok || now.Sub(s.since) > gateWindow {
		s = &strikes{since: now}
		g.bad[p] = s
		// Bound the map: forget peers whose window and backoff are over.
		if len(g.bad) > 1024 {
			for q, t := range g.bad {
				if now.After(t.until) && now.Sub(t.since) > gateWindow {
					delete(g.bad, q)
				}
			}
		}
	}
	s.n++
	disconnect := s.n == gateStrikes
	if disconnect {
		s.until = now.Add(gateBackoff)
	}
	g.mu.Unlock()
	if disconnect {
		g.count(GateDisconnects)
		g.h.log.Warn("disconnecting a peer whose gossip keeps being dropped", "peer", p.String(), "backoff", gateBackoff)
		_ = g.h.h.Network().ClosePeer(p)
	}
}

// memberBlacklist makes pubsub treat every peer that is a member of no
// joined network as blacklisted: pubsub opens no stream to it (it learns no
// subscription) and drops its messages. It is consulted when a peer
// connects; Host.Join closes connections to members pubsub passed over.
type memberBlacklist struct{ h *Host }

var _ pubsub.Blacklist = memberBlacklist{}

// Add is a no-op: membership is the list.
func (memberBlacklist) Add(peer.ID) bool { return true }

// Contains tells whether p is a member of no joined network.
func (b memberBlacklist) Contains(p peer.ID) bool { return !b.h.memberOfAny(p) }

// memberOfAny tells whether p is a member of a joined network.
func (h *Host) memberOfAny(p peer.ID) bool {
	_, ok := h.memberNode(p)
	return ok
}

// memberNode is p's node_id in a joined network that lists it.
func (h *Host) memberNode(p peer.ID) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.networks {
		if id, ok := n.validator.Members().NodeID(p); ok {
			return id, true
		}
	}
	return "", false
}

// GateCounts returns the host's gossip gate counters by reason, and the
// publishes inside dropped RPCs.
func (h *Host) GateCounts() (map[string]uint64, uint64) { return h.gate.Counts() }
