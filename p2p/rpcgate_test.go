package p2p

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"
)

// TestGateDropsNonMembersRPCs: a non-member that speaks GossipSub to a
// member directly (it cannot subscribe: the member never tells it its
// topics) sends 10,000 signed messages on the network's topic. The
// validator sees none of them; the gate counts every one. A peer that keeps
// sending is disconnected, and its RPCs are dropped unread for a backoff.
func TestGateDropsNonMembersRPCs(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a := nodes["a"]
	a.start(t, nodes)

	// The attacker: a meshmon host that is a member of nothing, so it
	// has the same wire stack; it records any gossip stream opened to it.
	_, xkey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewHost(HostConfig{Key: xkey, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: a.host.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	var told atomic.Int64
	x.Libp2p().SetStreamHandler(pubsub.GossipSubID_v12, func(s network.Stream) {
		told.Add(1)
		_ = s.Reset()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ai := peer.AddrInfo{ID: a.id, Addrs: a.host.Libp2p().Addrs()}
	if err := x.Libp2p().Connect(ctx, ai); err != nil {
		t.Fatal(err)
	}

	xpriv, err := PrivKey(xkey)
	if err != nil {
		t.Fatal(err)
	}
	topic := TopicName("net")
	signed := func(i int) *pubsubpb.Message {
		seqno := make([]byte, 8)
		binary.BigEndian.PutUint64(seqno, uint64(i)+1)
		m := &pubsubpb.Message{From: []byte(x.ID()), Data: []byte("junk"), Seqno: seqno, Topic: &topic}
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Signature, err = xpriv.Sign(append([]byte(pubsub.SignPrefix), b...)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	send := func(rpcs, perRPC, from int) {
		t.Helper()
		s, err := x.Libp2p().NewStream(ctx, a.id, pubsub.GossipSubID_v12)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		w := pbio.NewDelimitedWriter(s)
		for r := range rpcs {
			rpc := &pubsubpb.RPC{Subscriptions: []*pubsubpb.RPC_SubOpts{{Topicid: &topic, Subscribe: ptr(true)}}}
			for i := range perRPC {
				rpc.Publish = append(rpc.Publish, signed(from+r*perRPC+i))
			}
			if err := w.WriteMsg(rpc); err != nil {
				t.Fatalf("rpc %d: %v", r, err)
			}
		}
	}

	// 10,000 messages in 50 RPCs (fewer than gateStrikes).
	send(50, 200, 0)
	waitFor(t, 30*time.Second, "the gate to count 10,000 messages", func() bool {
		_, msgs := a.host.GateCounts()
		return msgs == 10000
	})
	counts, _ := a.host.GateCounts()
	if counts[GateNotMember] != 50 || counts[GateDisconnects] != 0 {
		t.Errorf("gate counts = %v; want 50 not_member RPCs, no disconnect yet", counts)
	}
	v := a.net.Validator()
	for k := range numKinds {
		if got := v.Accepted(k); got != 0 {
			t.Errorf("validator accepted %d %v messages; want none to reach it", got, k)
		}
	}
	wantCounts(t, v, nil)
	if got := a.net.Peers(); len(got) != 0 {
		t.Errorf("topic peers = %v; want none (the subscription was not recorded)", got)
	}

	// Keep sending: disconnected after gateStrikes RPCs, then backed off.
	send(gateStrikes, 1, 10000)
	waitFor(t, 30*time.Second, "the attacker to be disconnected", func() bool {
		c, _ := a.host.GateCounts()
		return c[GateDisconnects] == 1 && !isConnected(a.host, x.ID())
	})
	if err := x.Libp2p().Connect(ctx, ai); err != nil {
		t.Fatal(err)
	}
	send(1, 1, 20000)
	waitFor(t, 30*time.Second, "the backed-off attacker's RPC to be dropped", func() bool {
		c, _ := a.host.GateCounts()
		return c[GateBackedOff] >= 1
	})
	if n := told.Load(); n != 0 {
		t.Errorf("the member opened %d gossip streams to the non-member; want none (it learns no subscription)", n)
	}
}

func ptr[T any](v T) *T { return &v }
