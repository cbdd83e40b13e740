// Package p2ptest helps tests of other packages speak meshmon's wire
// protocol as a member (or an attacker holding a member's key) would.
package p2ptest

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// Sign wraps env in a pubsub message on network's topic, signed with key
// exactly as go-libp2p-pubsub's StrictSign signs (the marshalled message
// without Signature and Key, prefixed with pubsub.SignPrefix). seqno makes
// the message id unique.
func Sign(key ed25519.PrivateKey, network string, env *pb.Envelope, seqno uint64) (*pubsubpb.Message, error) {
	priv, err := p2p.PrivKey(key)
	if err != nil {
		return nil, err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return nil, err
	}
	topic := p2p.TopicName(network)
	sn := make([]byte, 8)
	binary.BigEndian.PutUint64(sn, seqno)
	m := &pubsubpb.Message{From: []byte(id), Data: data, Seqno: sn, Topic: &topic}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	if m.Signature, err = priv.Sign(append([]byte(pubsub.SignPrefix), b...)); err != nil {
		return nil, err
	}
	return m, nil
}

// PushSync opens /meshmon/sync/1 from h to member to and pushes msgs, as a
// member does when it sees another join the topic; the answer is read and
// dropped. h must be connected to to (or know its addresses) and be a
// member of network for the push to be taken.
func PushSync(ctx context.Context, h host.Host, to peer.ID, network string, msgs ...*pubsubpb.Message) error {
	s, err := h.NewStream(ctx, to, p2p.SyncProtocol)
	if err != nil {
		return fmt.Errorf("sync open: %w", err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	req := &pb.SyncRequest{NetworkId: network}
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		req.Entries = append(req.Entries, &pb.SyncEntry{Message: b})
	}
	if err := pbio.NewDelimitedWriter(s).WriteMsg(req); err != nil {
		return fmt.Errorf("sync push: %w", err)
	}
	var resp pb.SyncResponse
	if err := pbio.NewDelimitedReader(s, 8<<20).ReadMsg(&resp); err != nil {
		return fmt.Errorf("sync answer: %w", err)
	}
	return nil
}
