package p2p

import (
	"context"
	"testing"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

func TestHeldPositions(t *testing.T) {
	held := func(node string, kind uint32, boot, seq uint64) *pb.SyncHeld {
		return &pb.SyncHeld{NodeId: node, Kind: kind, BootId: boot, Seq: seq}
	}
	for _, tc := range []struct {
		name    string
		in      []*pb.SyncHeld
		want    map[freshKey]Position
		wantErr bool
	}{
		{"none", nil, map[freshKey]Position{}, false},
		{"each kind by its body field",
			[]*pb.SyncHeld{held("a", 2, 1, 5), held("a", 3, 1, 7), held("b", 5, 2, 1)},
			map[freshKey]Position{{"a", KindHeartbeat}: {1, 5}, {"a", KindReport}: {1, 7}, {"b", KindMonitor}: {2, 1}}, false},
		{"a kind this version does not know is skipped",
			[]*pb.SyncHeld{held("a", 2, 1, 5), held("a", 99, 1, 1)},
			map[freshKey]Position{{"a", KindHeartbeat}: {1, 5}}, false},
		{"the newest of two positions of one author and kind",
			[]*pb.SyncHeld{held("a", 2, 1, 5), held("a", 2, 1, 3)},
			map[freshKey]Position{{"a", KindHeartbeat}: {1, 5}}, false},
		{"no node_id", []*pb.SyncHeld{held("", 2, 1, 5)}, nil, true},
		{"boot beyond MaxBoot", []*pb.SyncHeld{held("a", 2, MaxBoot+1, 1)}, nil, true},
		{"seq beyond MaxSeq", []*pb.SyncHeld{held("a", 2, 1, MaxSeq+1)}, nil, true},
		{"longer than the limit", []*pb.SyncHeld{held("a", 2, 1, 1), held("b", 2, 1, 1), held("c", 2, 1, 1), held("d", 2, 1, 1)}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := heldPositions(tc.in, 3)
			if (err != nil) != tc.wantErr {
				t.Fatalf("heldPositions(%v) error = %v; want error %v", tc.in, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("heldPositions(%v) = %v; want %v", tc.in, got, tc.want)
			}
			for k, p := range tc.want {
				if got[k] != p {
					t.Errorf("heldPositions(%v)[%v] = %v; want %v", tc.in, k, got[k], p)
				}
			}
		})
	}
}

// TestSyncAnswersWhatTheRequesterLacks: a requester that states the
// positions it holds gets only newer messages; one that states nothing (a
// version before the held field, or a node that holds nothing) gets every
// message; a malformed held list is refused and counted, and the responder
// answers the next request as before. An exchange pushes only the
// requester's own messages.
func TestSyncAnswersWhatTheRequesterLacks(t *testing.T) {
	nodes := newKeys(t, "a", "b", "c")
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	a.start(t, nodes)
	b.start(t, nodes)
	c.start(t, nodes)
	b.connect(t, a)
	c.connect(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 5)); err != nil {
		t.Fatal(err)
	}
	if err := b.net.Publish(ctx, heartbeat("net", "b", 3, 2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a to hold a's and b's heartbeats", func() bool {
		return len(a.net.syncResponse(time.Now()).GetEntries()) == 2
	})
	if own := a.net.ownLatest(time.Now()); len(own) != 1 {
		t.Errorf("a pushes %d entries; want 1, its own heartbeat", len(own))
	}

	// ask sends c's request to a and returns the node_ids of the answer's
	// messages, or ok false when a refused the request.
	ask := func(req *pb.SyncRequest) (authors map[string]bool, ok bool) {
		t.Helper()
		s, err := c.host.h.NewStream(ctx, a.id, SyncProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := pbio.NewDelimitedWriter(s).WriteMsg(req); err != nil {
			t.Fatal(err)
		}
		var resp pb.SyncResponse
		if err := pbio.NewDelimitedReader(s, maxSyncMessage).ReadMsg(&resp); err != nil {
			return nil, false
		}
		authors = map[string]bool{}
		for _, e := range resp.GetEntries() {
			env, _ := decodeSynced(t, e)
			authors[env.GetHeader().GetNodeId()] = true
		}
		return authors, true
	}
	hb := func(node string, boot, seq uint64) *pb.SyncHeld {
		return &pb.SyncHeld{NodeId: node, Kind: 2, BootId: boot, Seq: seq}
	}
	for _, tc := range []struct {
		name string
		held []*pb.SyncHeld
		want []string
	}{
		{"holds nothing, or an old requester", nil, []string{"a", "b"}},
		{"holds a's message", []*pb.SyncHeld{hb("a", 1, 5)}, []string{"b"}},
		{"holds an older one of a's", []*pb.SyncHeld{hb("a", 1, 4), hb("b", 3, 2)}, []string{"a"}},
		{"holds newer ones of both", []*pb.SyncHeld{hb("a", 2, 0), hb("b", 3, 3)}, nil},
		{"holds a's report, not its heartbeat", []*pb.SyncHeld{{NodeId: "a", Kind: 3, BootId: 9, Seq: 9}, hb("b", 3, 2)}, []string{"a"}},
		{"a kind a does not know", []*pb.SyncHeld{{NodeId: "a", Kind: 99, BootId: 9, Seq: 9}}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ask(&pb.SyncRequest{NetworkId: "net", Held: tc.held})
			if !ok {
				t.Fatalf("request holding %v refused; want an answer", tc.held)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("answer to a request holding %v has %v; want %v", tc.held, got, tc.want)
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("answer to a request holding %v has %v; want %v", tc.held, got, tc.want)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		held []*pb.SyncHeld
	}{
		{"no node_id", []*pb.SyncHeld{hb("", 1, 1)}},
		{"implausible boot", []*pb.SyncHeld{hb("a", MaxBoot+1, 1)}},
		{"too many", make([]*pb.SyncHeld, maxHeld(3)+1)},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			for i := range tc.held {
				if tc.held[i] == nil {
					tc.held[i] = hb("a", 1, uint64(i))
				}
			}
			before := a.host.SyncRefused()[SyncRefusedMalformed]
			if got, ok := ask(&pb.SyncRequest{NetworkId: "net", Held: tc.held}); ok {
				t.Fatalf("a malformed held list was answered with %v; want the request refused", got)
			}
			waitFor(t, 10*time.Second, "the refusal to be counted", func() bool {
				return a.host.SyncRefused()[SyncRefusedMalformed] == before+1
			})
		})
	}
	if got, ok := ask(&pb.SyncRequest{NetworkId: "net"}); !ok || len(got) != 2 {
		t.Errorf("after the refusals a plain request got %v (answered %v); want a's and b's messages", got, ok)
	}
}

// decodeSynced decodes a synced entry's signed message and its envelope.
func decodeSynced(t *testing.T, e *pb.SyncEntry) (*pb.Envelope, *pubsubpb.Message) {
	t.Helper()
	raw := &pubsubpb.Message{}
	if err := proto.Unmarshal(e.GetMessage(), raw); err != nil {
		t.Fatal(err)
	}
	env := &pb.Envelope{}
	if err := proto.Unmarshal(raw.GetData(), env); err != nil {
		t.Fatal(err)
	}
	return env, raw
}
