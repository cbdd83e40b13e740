package web

import (
	"encoding/json"
	"testing"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

func TestDecodeRaw(t *testing.T) {
	b := signedMessage(t, "server-02", 7, heartbeatBody())
	m, err := DecodeRaw(b, t0)
	if err != nil {
		t.Fatalf("DecodeRaw: %v", err)
	}
	if m.NodeID != "server-02" || m.Kind != "heartbeat" || m.Topic != "/meshmon/1/prod" || m.Seq != 7 ||
		m.BootID != 1748779200000 || m.From == "" || !m.ReceivedAt.Equal(t0) || string(m.Message) != string(b) {
		t.Errorf("DecodeRaw = %+v", m)
	}
	var env map[string]map[string]any
	if err := json.Unmarshal(m.Envelope, &env); err != nil {
		t.Fatalf("envelope %s: %v", m.Envelope, err)
	}
	if env["header"]["node_id"] != "server-02" || env["heartbeat"]["version"] != "v0.3.0" {
		t.Errorf("envelope = %s; want proto field names with the header and heartbeat", m.Envelope)
	}
}

func TestDecodeRawRefusesJunk(t *testing.T) {
	noHeader, _ := proto.Marshal(&pubsubpb.Message{Data: mustMarshal(t, heartbeatBody())})
	noBody, _ := proto.Marshal(&pubsubpb.Message{Data: mustMarshal(t, &pb.Envelope{Header: &pb.Header{NodeId: "x"}})})
	badFrom, _ := proto.Marshal(&pubsubpb.Message{From: []byte("nope"),
		Data: mustMarshal(t, &pb.Envelope{Header: &pb.Header{NodeId: "x"}, Body: heartbeatBody().Body})})
	for name, b := range map[string][]byte{
		"not protobuf": {0xff, 0xff, 0xff},
		"junk payload": mustMarshal(t, &pubsubpb.Message{Data: []byte{0xff, 0xff}}),
		"no header":    noHeader,
		"no body":      noBody,
		"bad author":   badFrom,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeRaw(b, t0); err == nil {
				t.Errorf("DecodeRaw(%s) = nil error; want an error", name)
			}
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeRaw: arbitrary bytes never panic DecodeRaw, and what it
// accepts serves as JSON.
func FuzzDecodeRaw(f *testing.F) {
	f.Add(signedMessage(f, "server-02", 7, heartbeatBody()))
	f.Add(signedMessage(f, "server-01", 3, reportBody()))
	f.Add([]byte{})
	f.Add([]byte("\x0a\x02ab\x12\x03xyz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeRaw(data, t0)
		if err != nil {
			return
		}
		if !json.Valid(m.Envelope) {
			t.Fatalf("DecodeRaw(%q).Envelope = %q; want JSON", data, m.Envelope)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json.Marshal(DecodeRaw(%q)) = %v", data, err)
		}
	})
}
