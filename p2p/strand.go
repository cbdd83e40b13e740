package p2p

import (
	"fmt"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// A member is stranded when it is connected to this node directly but
// GossipSub does not list it on the topic: this node's gossip does not reach
// it. It happens when two hosts hold one key (docs/liveness.md, "Cloned
// identities"): a member keeps one inbound gossip stream per peer ID, so the
// second host's stream replaces the first's, the first drops the member from
// the topic and, after a few retries, stops writing to it while still
// connected (the two may take the stream from each other again and again).
// Without a push the real host of a cloned key would go silent at every
// member where the copy won the stream.
//
// So this node pushes to a stranded member over /meshmon/sync/1, on its own
// connection, which the other host cannot take over: once, when the member
// becomes stranded, the latest message of each kind this node published
// (the catch-up), and then every message it publishes while the member
// stays off the topic. A member that leaves the topic while still connected
// (GossipSub's PeerLeave) is stranded at the next check. A member never
// seen on the topic since it connected is stranded only after strandAfter:
// every member is off the topic for a moment after it connects, until the
// two ends have swapped subscriptions, and the sync exchange at PeerJoin
// covers that moment; pushing each message to each such member slowed a
// 30-node start by seconds.
const strandAfter = 3 * time.Second

// strandCheck is how often strandLoop looks for stranded members.
const strandCheck = time.Second

// pushRetry is how long a member is left alone after a push to it failed
// (a member whose own config lacks this network refuses every one): its
// next message goes by gossip or waits.
const pushRetry = time.Minute

// offTopic is what strandLoop knows of a member off the topic.
type offTopic struct {
	// since is when the member was first seen off the topic.
	since time.Time
	// stranded is set once the member has stayed off for strandAfter and
	// the catch-up was pushed to it.
	stranded bool
}

// nextOffTopic is the pure step of strandLoop: given the members off the
// topic now (connected directly, not failed recently) and what was known
// before, it returns the new state and the members that have just become
// stranded, to which the catch-up is due.
func nextOffTopic(prev map[peer.ID]offTopic, off []peer.ID, now time.Time) (map[peer.ID]offTopic, []peer.ID) {
	next := make(map[peer.ID]offTopic, len(off))
	var due []peer.ID
	for _, p := range off {
		st, ok := prev[p]
		if !ok {
			st = offTopic{since: now}
		}
		if !st.stranded && now.Sub(st.since) >= strandAfter {
			st.stranded = true
			due = append(due, p)
		}
		next[p] = st
	}
	return next, due
}

// leftTopic is nextOffTopic's input from GossipSub's PeerLeave of member p
// at now: when p is still connected directly, it counts as off the topic
// for strandAfter already, so the next check strands it.
func leftTopic(state map[peer.ID]offTopic, p peer.ID, now time.Time) map[peer.ID]offTopic {
	if st, ok := state[p]; ok && st.stranded {
		return state
	}
	if state == nil {
		state = map[peer.ID]offTopic{}
	}
	state[p] = offTopic{since: now.Add(-strandAfter)}
	return state
}

// noteLeave takes GossipSub's PeerLeave of member p (leftTopic).
func (n *Network) noteLeave(p peer.ID) {
	if l := n.linkOf(p); !l.Connected || l.Relayed {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.offTopic = leftTopic(n.offTopic, p, time.Now())
}

// strandLoop looks for stranded members every strandCheck and pushes the
// catch-up to each that has just become one.
func (n *Network) strandLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(strandCheck)
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-tick.C:
			off := n.offTopicMembers(now)
			n.mu.Lock()
			var due []peer.ID
			n.offTopic, due = nextOffTopic(n.offTopic, off, now)
			var own []*pb.SyncEntry
			if len(due) > 0 {
				own = n.ownEntries()
			}
			n.mu.Unlock()
			if len(own) > 0 {
				for _, p := range due {
					n.pushTo(p, own)
				}
			}
		}
	}
}

// offTopicMembers lists the members connected directly that GossipSub does
// not list on the topic and whose last push did not fail within pushRetry.
// A member reached only through a relay is off the topic by design
// (GossipSub ignores limited connections; its gossip flows through public
// members), so it is not listed.
func (n *Network) offTopicMembers(now time.Time) []peer.ID {
	on := map[peer.ID]bool{}
	for _, p := range n.topic.ListPeers() {
		on[p] = true
	}
	var off []peer.ID
	for _, p := range n.validator.Members().Peers() {
		if p == n.host.ID() || on[p] {
			continue
		}
		if l := n.linkOf(p); l.Connected && !l.Relayed && !n.pushFailedRecently(p, now) {
			off = append(off, p)
		}
	}
	return off
}

// rememberOwn keeps raw, a message this node published, as its latest of
// its kind for the catch-up. It is kept apart from the latest messages
// sync swaps, which hold another host's messages when a clone's
// incarnation is newer.
func (n *Network) rememberOwn(env *pb.Envelope, raw *pubsubpb.Message) {
	kind, b, ok := kept(env, raw)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.own == nil {
		n.own = map[Kind][]byte{}
	}
	n.own[kind] = b
}

// ownEntries is the catch-up: the latest message of each kind this node
// published. n.mu must be held.
func (n *Network) ownEntries() []*pb.SyncEntry {
	out := make([]*pb.SyncEntry, 0, len(n.own))
	for _, b := range n.own {
		out = append(out, &pb.SyncEntry{Message: b})
	}
	return out
}

// pushStranded pushes raw, a message this node just published, to every
// member that is stranded now.
func (n *Network) pushStranded(raw *pubsubpb.Message) {
	n.mu.Lock()
	var stranded []peer.ID
	for p, st := range n.offTopic {
		if st.stranded {
			stranded = append(stranded, p)
		}
	}
	n.mu.Unlock()
	if len(stranded) == 0 {
		return
	}
	// Still off the topic: GossipSub may have listed it since the last check.
	on := map[peer.ID]bool{}
	for _, p := range n.topic.ListPeers() {
		on[p] = true
	}
	b, err := proto.Marshal(raw)
	if err != nil {
		return
	}
	entries := []*pb.SyncEntry{{Message: b}}
	for _, p := range stranded {
		if !on[p] {
			n.pushTo(p, entries)
		}
	}
}

// pushTo pushes entries to member p in the background. Each push is
// counted (StrandedPushes), and so is each failure: the member is then
// left alone for pushRetry.
func (n *Network) pushTo(p peer.ID, entries []*pb.SyncEntry) {
	n.strandedPushes.Add(1)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.push(p, entries); err != nil && n.ctx.Err() == nil {
			// Counted (meshmon_sync_push_failures_total) and handed
			// over (an event); the message may still reach p through
			// other members or the next sync.
			n.strandedPushFailures.Add(1)
			if node, ok := n.validator.Members().NodeID(p); ok {
				n.handler.HandleSyncFailed(node, fmt.Errorf("gossip does not reach it, and pushing this node's messages to it failed: %w", err))
			}
			n.mu.Lock()
			if n.pushFailed == nil {
				n.pushFailed = map[peer.ID]time.Time{}
			}
			n.pushFailed[p] = time.Now()
			delete(n.offTopic, p)
			n.mu.Unlock()
		}
	}()
}

// pushFailedRecently tells whether a push to p failed within pushRetry of now.
func (n *Network) pushFailedRecently(p peer.ID, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.pushFailed[p]
	if ok && now.Sub(at) >= pushRetry {
		delete(n.pushFailed, p)
		return false
	}
	return ok
}
