package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// RawMessage is one signed gossip message as this node admitted it, for
// audit (/api/raw/{id}). Build it with DecodeRaw.
type RawMessage struct {
	// NodeID is the author's node_id, from the payload's header.
	NodeID string `json:"node_id"`
	// Kind is heartbeat, report, delivered or monitor.
	Kind string `json:"kind"`
	// From is the signer's peer ID.
	From string `json:"from"`
	// Topic is the GossipSub topic.
	Topic string `json:"topic"`
	// BootID and Seq order the author's messages.
	BootID uint64 `json:"boot_id"`
	Seq    uint64 `json:"seq"`
	// ReceivedAt is when this node admitted the message.
	ReceivedAt time.Time `json:"received_at"`
	// Message is the pubsub message protobuf as received (from, data,
	// seqno, topic, signature, key); JSON encodes it as base64.
	Message []byte `json:"message"`
	// Envelope is the decoded payload in protobuf JSON form.
	Envelope json.RawMessage `json:"envelope"`
}

// DecodeRaw builds a RawMessage from a marshalled libp2p pubsub message (as
// p2p keeps the latest message of each author for sync) and the time it
// was admitted. It fails on bytes that are not a pubsub message carrying a
// meshmon Envelope with a header.
func DecodeRaw(message []byte, receivedAt time.Time) (RawMessage, error) {
	var m pubsubpb.Message
	if err := proto.Unmarshal(message, &m); err != nil {
		return RawMessage{}, fmt.Errorf("raw message: decode: %w", err)
	}
	var env pb.Envelope
	if err := proto.Unmarshal(m.GetData(), &env); err != nil {
		return RawMessage{}, fmt.Errorf("raw message: decode payload: %w", err)
	}
	h := env.GetHeader()
	if h == nil {
		return RawMessage{}, errors.New("raw message: payload has no header")
	}
	kind, ok := p2p.KindOf(&env)
	if !ok {
		return RawMessage{}, errors.New("raw message: payload has no known body")
	}
	from, err := peer.IDFromBytes(m.GetFrom())
	if err != nil {
		return RawMessage{}, fmt.Errorf("raw message: author: %w", err)
	}
	envJSON, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&env)
	if err != nil {
		return RawMessage{}, fmt.Errorf("raw message: payload to json: %w", err)
	}
	return RawMessage{
		NodeID:     h.GetNodeId(),
		Kind:       kind.String(),
		From:       from.String(),
		Topic:      m.GetTopic(),
		BootID:     h.GetBootId(),
		Seq:        h.GetSeq(),
		ReceivedAt: receivedAt,
		Message:    message,
		Envelope:   compactJSON(envJSON),
	}, nil
}

// compactJSON removes the random spaces protojson adds (its output is
// deliberately unstable).
func compactJSON(b []byte) json.RawMessage {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

func handleRaw(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		msgs, ok := []RawMessage(nil), false
		if d.Raw != nil {
			msgs, ok = d.Raw(id)
		} else {
			nv, known := d.View().Networks[id]
			ok = known && nv != nil
		}
		if !ok {
			writeError(w, http.StatusNotFound, "unknown network: "+id)
			return
		}
		node := r.URL.Query().Get("node")
		out := make([]RawMessage, 0, len(msgs))
		for _, m := range msgs {
			if node == "" || m.NodeID == node {
				if m.Envelope == nil {
					m.Envelope = json.RawMessage("{}")
				}
				out = append(out, m)
			}
		}
		slices.SortStableFunc(out, func(a, b RawMessage) int {
			return cmp.Or(cmp.Compare(a.NodeID, b.NodeID), cmp.Compare(a.Kind, b.Kind))
		})
		writeJSON(w, http.StatusOK, map[string]any{"network_id": id, "messages": out})
	}
}
