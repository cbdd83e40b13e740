package p2p

import (
	"strings"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxForeignSubs bounds how many subscriptions to topics this host has not
// joined it tracks per RPC, so a peer cannot make it remember many topics.
const maxForeignSubs = 16

// subFilter keeps non-members out of a network's topic. Flood publishing
// sends to every peer subscribed to the topic without consulting the peer
// filter, so a non-member's subscription must never be recorded at all.
type subFilter struct{ h *Host }

var _ pubsub.SubscriptionFilter = subFilter{}

// CanSubscribe allows only meshmon topics.
func (f subFilter) CanSubscribe(topic string) bool {
	return strings.HasPrefix(topic, topicPrefix)
}

// FilterIncomingSubscriptions drops from's subscriptions to joined topics
// whose network does not list it as a member. Subscriptions to meshmon
// topics not joined yet are kept (a bounded number), and checked when the
// topic is joined (see Network.evictNonMembers).
func (f subFilter) FilterIncomingSubscriptions(from peer.ID, subs []*pubsubpb.RPC_SubOpts) ([]*pubsubpb.RPC_SubOpts, error) {
	out := subs[:0:0]
	foreign := 0
	for _, s := range subs {
		topic := s.GetTopicid()
		if !f.CanSubscribe(topic) {
			continue
		}
		joined, member := f.h.topicMember(from, topic)
		switch {
		case joined && !member:
			continue
		case !joined:
			if foreign++; foreign > maxForeignSubs {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}
