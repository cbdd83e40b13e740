package p2p

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"
)

// TestGossipRefusalsCounted: what GossipSub refuses before (or instead of)
// the topic validator is counted by reason: a replay of a message already
// seen, a frame that is no RPC, an RPC over the size limit, a message on a
// topic this node is not on. Today none of them left a count.
func TestGossipRefusalsCounted(t *testing.T) {
	a, b := connectedPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bkey, err := PrivKey(b.key)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(topic string, env []byte, seq uint64) *pubsubpb.Message {
		sn := make([]byte, 8)
		binary.BigEndian.PutUint64(sn, seq)
		m := &pubsubpb.Message{From: []byte(b.id), Data: env, Seqno: sn, Topic: &topic}
		raw, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Signature, err = bkey.Sign(append([]byte(pubsub.SignPrefix), raw...)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	stream := func() pbio.WriteCloser {
		t.Helper()
		s, err := b.host.Libp2p().NewStream(ctx, a.id, pubsub.GossipSubID_v12)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Reset() })
		return pbio.NewDelimitedWriter(s)
	}

	// The same signed message twice: the second is a replay. And a
	// message on a topic a is not on. a keeps one inbound gossip stream
	// per peer, so b's own pubsub may take it back from this test's
	// stream before a reads ours: they are sent again on a fresh stream
	// each second until counted.
	hbEnv := marshal(t, heartbeat("net", "b", 7, 1))
	msg := signed(TopicName("net"), hbEnv, 99)
	other := signed("/meshmon/1/elsewhere", hbEnv, 100)
	send := func() {
		w := stream()
		for range 2 {
			_ = w.WriteMsg(&pubsubpb.RPC{Publish: []*pubsubpb.Message{msg}})
		}
		_ = w.WriteMsg(&pubsubpb.RPC{Publish: []*pubsubpb.Message{other}})
	}
	send()
	sent := time.Now()
	waitFor(t, 30*time.Second, "a duplicate and an other-topic message counted", func() bool {
		c := a.host.GossipRefused()
		if c[RefusedDuplicate] >= 1 && c[RefusedOtherTopic] >= 1 {
			return true
		}
		if time.Since(sent) >= time.Second {
			send()
			sent = time.Now()
		}
		return false
	})

	// A frame that is no RPC, then an RPC over the size limit, each on a
	// stream of its own (pubsub resets the stream).
	junk, err := b.host.Libp2p().NewStream(ctx, a.id, pubsub.GossipSubID_v12)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = junk.Write(append(binary.AppendUvarint(nil, 4), 0xff, 0xff, 0xff, 0xff))
	waitFor(t, 30*time.Second, "a junk frame counted", func() bool {
		return a.host.GossipRefused()[RefusedJunkFrame] >= 1
	})
	big, err := b.host.Libp2p().NewStream(ctx, a.id, pubsub.GossipSubID_v12)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = big.Write(binary.AppendUvarint(nil, 1<<20))
	waitFor(t, 30*time.Second, "an oversize RPC counted", func() bool {
		return a.host.GossipRefused()[RefusedOversizeRPC] >= 1
	})
	if got := a.net.Validator().Accepted(KindHeartbeat); got != 1 {
		t.Errorf("validator accepted %d heartbeats; want the one message once", got)
	}
}
