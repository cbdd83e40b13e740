package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// openDeclaring opens n sync streams from h to p, each declaring a request
// of size bytes and sending nothing more, and returns them open.
func openDeclaring(t *testing.T, h *Host, p peer.ID, n, size int) []network.Stream {
	t.Helper()
	prefix := binary.AppendUvarint(nil, uint64(size))
	var out []network.Stream
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := h.Libp2p().NewStream(ctx, p, SyncProtocol)
		cancel()
		if err != nil {
			t.Fatalf("open sync stream: %v", err)
		}
		if _, err := s.Write(prefix); err != nil {
			t.Fatalf("write length: %v", err)
		}
		out = append(out, s)
	}
	t.Cleanup(func() {
		for _, s := range out {
			_ = s.Reset()
		}
	})
	return out
}

// TestSyncRefusesNonMemberBeforeReading: a non-member that opens 120 sync
// streams each declaring 8 MiB costs the node next to no memory, and every
// stream is counted as refused (issue 14 measured 34 → 641 MB RSS).
func TestSyncRefusesNonMemberBeforeReading(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a := nodes["a"]
	reg := prometheus.NewRegistry()
	h, err := NewHost(HostConfig{Key: a.key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if _, err := h.Join(NetworkConfig{ID: "net", Self: "a", Members: NewMembers(map[string]peer.ID{"a": a.id, "b": nodes["b"].id}), Handler: a.rec}); err != nil {
		t.Fatal(err)
	}
	x := newKeys(t, "x")["x"]
	xh, err := NewHost(HostConfig{Key: x.key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xh.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := xh.Libp2p().Connect(ctx, peer.AddrInfo{ID: a.id, Addrs: h.Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}

	before := heapInUse()
	streams := openDeclaring(t, xh, a.id, 120, 8<<20)
	waitFor(t, 30*time.Second, "120 refusals counted", func() bool {
		return h.SyncRefused()[SyncRefusedNotMember] == 120
	})
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d → %d bytes (%+d) with %d streams open", before, after, grew, len(streams))
	if grew > 10<<20 {
		t.Errorf("heap grew by %d bytes under 120 non-member streams declaring 8 MiB; want < 10 MB", grew)
	}
	if got := refusedMetric(t, reg, SyncRefusedNotMember); got != 120 {
		t.Errorf("meshmon_sync_refused_total{reason=not_member} = %v; want 120", got)
	}
	for _, r := range []string{SyncRefusedOversize, SyncRefusedNoMemory, SyncRefusedMalformed} {
		if got := h.SyncRefused()[r]; got != 0 {
			t.Errorf("SyncRefused()[%s] = %d; want 0", r, got)
		}
	}
}

// TestSyncRefusesOversizeFromMember: a member may only declare what the
// latest messages of the network's members can take.
func TestSyncRefusesOversizeFromMember(t *testing.T) {
	a, b := connectedPair(t)
	limit := syncRequestLimit(2)
	openDeclaring(t, b.host, a.id, 3, limit+1)
	waitFor(t, 30*time.Second, "3 oversize refusals counted", func() bool {
		return a.host.SyncRefused()[SyncRefusedOversize] == 3
	})
	if got := a.host.SyncRefused()[SyncRefusedNotMember]; got != 0 {
		t.Errorf("SyncRefused()[not_member] = %d for a member; want 0", got)
	}
}

// refusedMetric reads meshmon_sync_refused_total{reason} from reg.
func refusedMetric(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	v, ok := counterValue(t, reg, "meshmon_sync_refused_total", "reason", reason)
	if !ok {
		t.Fatalf("no meshmon_sync_refused_total{reason=%q}", reason)
	}
	return v
}

// counterValue reads the counter name{label=value} from reg; ok is false
// when reg has no such series.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) (v float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func TestSyncRequestLimit(t *testing.T) {
	for _, tc := range []struct {
		members int
		want    int
	}{
		{1, 3*(MaxEnvelopeSize+syncEntryOverhead) + 1024},
		{3, 9*(MaxEnvelopeSize+syncEntryOverhead) + 1024},
	} {
		if got := syncRequestLimit(tc.members); got != tc.want {
			t.Errorf("syncRequestLimit(%d) = %d; want %d", tc.members, got, tc.want)
		}
	}
	if syncRequestLimit(2) >= maxSyncMessage {
		t.Errorf("syncRequestLimit(2) = %d; want well below the old 8 MiB", syncRequestLimit(2))
	}
}

// frame is a varint-delimited message, as a sync request travels.
func frame(tb testing.TB, m proto.Message) []byte {
	b := marshal(tb, m)
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

func TestReadSyncFrame(t *testing.T) {
	a := newAuthor(t, "a")
	valid := frame(t, &pb.SyncRequest{NetworkId: testNetwork, Entries: []*pb.SyncEntry{{Message: marshal(t, a.gossip(t, hb("a", 1, 1)))}}})
	for _, tc := range []struct {
		name       string
		in         []byte
		limit      int
		refuseMem  bool
		wantReason string // "" for success
	}{
		{"valid", valid, 1 << 20, false, ""},
		{"exactly at the limit", valid, len(valid) - lenPrefix(valid), false, ""},
		{"beyond the limit", valid, len(valid) - lenPrefix(valid) - 1, false, SyncRefusedOversize},
		{"declares 8 MiB", binary.AppendUvarint(nil, 8<<20), 1 << 20, false, SyncRefusedOversize},
		{"memory refused", valid, 1 << 20, true, SyncRefusedNoMemory},
		{"no length", nil, 1 << 20, false, SyncRefusedMalformed},
		{"cut length", []byte{0x80}, 1 << 20, false, SyncRefusedMalformed},
		{"varint too long", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1 << 20, false, SyncRefusedMalformed},
		{"cut body", valid[:len(valid)-5], 1 << 20, false, SyncRefusedMalformed},
		{"not a request", append([]byte{3}, 0xff, 0xff, 0xff), 1 << 20, false, SyncRefusedMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reserved, released int
			reserve := func(n int) error {
				if tc.refuseMem {
					return errors.New("scope exhausted")
				}
				reserved += n
				return nil
			}
			var req pb.SyncRequest
			r := bytes.NewReader(tc.in)
			err := readSyncFrame(r, tc.limit, reserve, func(n int) { released += n }, &req)
			var refused *errSyncRefused
			switch {
			case tc.wantReason == "" && err != nil:
				t.Fatalf("readSyncFrame(%s) = %v; want nil", tc.name, err)
			case tc.wantReason != "" && (!errors.As(err, &refused) || refused.reason != tc.wantReason):
				t.Fatalf("readSyncFrame(%s) = %v; want refused for %s", tc.name, err, tc.wantReason)
			}
			if reserved != released {
				t.Errorf("reserved %d, released %d; want equal", reserved, released)
			}
			if tc.wantReason == SyncRefusedOversize || tc.wantReason == SyncRefusedNoMemory {
				// Nothing past the length was read, nothing reserved.
				if reserved != 0 || r.Len() != len(tc.in)-lenPrefix(tc.in) {
					t.Errorf("refused request: reserved %d, %d bytes left of %d; want 0 reserved and only the length read", reserved, r.Len(), len(tc.in))
				}
			}
			if tc.wantReason == "" && len(req.GetEntries()) != 1 {
				t.Errorf("decoded %d entries; want 1", len(req.GetEntries()))
			}
		})
	}
}

// lenPrefix is the length of the varint at the start of b.
func lenPrefix(b []byte) int {
	for i, c := range b {
		if c < 0x80 {
			return i + 1
		}
	}
	return len(b)
}

// FuzzSyncFrame feeds arbitrary bytes to the sync request reader, every
// entry it decodes to the sync admission path, and its held list to the
// answer. Nothing may panic, memory reserved is always released and never
// beyond the limit, only a message validly signed by a member on the topic
// is delivered, and the answer holds only messages newer than those the
// request says it holds.
func FuzzSyncFrame(f *testing.F) {
	a, b := newAuthor(f, "a"), newAuthor(f, "b")
	f.Add(frame(f, &pb.SyncRequest{NetworkId: testNetwork, Entries: []*pb.SyncEntry{
		{Message: marshal(f, a.gossip(f, hb("a", 1, 1))), AgeMs: 40},
		{Message: marshal(f, b.gossip(f, envelope(KindReport, testNetwork, "b", 2, 3)))},
	}}))
	f.Add(frame(f, &pb.SyncRequest{NetworkId: testNetwork, Entries: []*pb.SyncEntry{{Message: []byte("junk")}}}))
	f.Add(frame(f, &pb.SyncRequest{NetworkId: testNetwork,
		Entries: []*pb.SyncEntry{{Message: marshal(f, a.gossip(f, hb("a", 1, 2)))}, {Message: marshal(f, b.gossip(f, hb("b", 1, 1)))}},
		Held:    []*pb.SyncHeld{{NodeId: "a", Kind: 2, BootId: 1, Seq: 2}, {NodeId: "b", Kind: 7, BootId: 9}, {NodeId: "", Kind: 2}}}))
	f.Add(binary.AppendUvarint(nil, 8<<20))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80})
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		var reserved, released, peak int
		reserve := func(n int) error {
			reserved += n
			peak = max(peak, reserved-released)
			return nil
		}
		var req pb.SyncRequest
		err := readSyncFrame(bytes.NewReader(data), limit, reserve, func(n int) { released += n }, &req)
		if reserved != released || peak > limit {
			t.Fatalf("reserved %d, released %d, peak %d (limit %d)", reserved, released, peak, limit)
		}
		if err != nil {
			var refused *errSyncRefused
			if !errors.As(err, &refused) {
				t.Fatalf("readSyncFrame = %v; want a refusal with a reason", err)
			}
			return
		}
		v := NewValidator(testNetwork, membersOf(a, b))
		sink := &msgSink{}
		n := gossipNetwork(v, sink)
		for _, e := range req.GetEntries() {
			n.acceptSynced(e)
		}
		for _, m := range sink.got() {
			from, err := verifySigned(m.Raw)
			if err != nil || from != m.From || (from != a.id && from != b.id) || m.Raw.GetTopic() != TopicName(testNetwork) {
				t.Fatalf("sync delivered %v from %s: verifySigned = %s, %v", m.Raw, m.From, from, err)
			}
		}
		held, err := heldPositions(req.GetHeld(), maxHeld(2))
		if err != nil {
			return
		}
		if len(held) > maxHeld(2) {
			t.Fatalf("heldPositions kept %d positions; limit %d", len(held), maxHeld(2))
		}
		for _, e := range n.syncEntries(time.Now(), held) {
			env, _ := decodeSynced(t, e)
			kind, _ := KindOf(env)
			if h, ok := held[freshKey{env.GetHeader().GetNodeId(), kind}]; ok && !PositionOf(env.GetHeader()).After(h) {
				t.Fatalf("answer holds %v at %v; the request holds %v", env.GetHeader().GetNodeId(), PositionOf(env.GetHeader()), h)
			}
		}
	})
}
