package p2p

import (
	"errors"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"
)

// verifySigned checks a pubsub message's author signature the way pubsub's
// StrictSign does, so messages relayed by the sync protocol are as trustworthy
// as gossip. It returns the author.
func verifySigned(m *pubsubpb.Message) (peer.ID, error) {
	from, err := peer.IDFromBytes(m.GetFrom())
	if err != nil {
		return "", fmt.Errorf("author: %w", err)
	}
	if len(m.GetSignature()) == 0 {
		return "", errors.New("unsigned")
	}
	pub, err := from.ExtractPublicKey()
	if err != nil {
		return "", fmt.Errorf("author key: %w", err)
	}
	xm := proto.CloneOf(m)
	xm.Signature = nil
	xm.Key = nil
	b, err := proto.Marshal(xm)
	if err != nil {
		return "", fmt.Errorf("marshal: %w", err)
	}
	ok, err := pub.Verify(append([]byte(pubsub.SignPrefix), b...), m.GetSignature())
	if err != nil {
		return "", fmt.Errorf("verify: %w", err)
	}
	if !ok {
		return "", errors.New("invalid signature")
	}
	return from, nil
}
