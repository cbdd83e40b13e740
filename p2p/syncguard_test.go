package p2p

import (
	"context"
	"encoding/binary"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
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
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	a.start(t, nodes)
	b.start(t, nodes)
	b.connect(t, a)
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
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "meshmon_sync_refused_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no meshmon_sync_refused_total{reason=%q}", reason)
	return 0
}

func TestSyncRequestLimit(t *testing.T) {
	for _, tc := range []struct {
		members int
		want    int
	}{
		{1, 2*(MaxEnvelopeSize+syncEntryOverhead) + 1024},
		{3, 6*(MaxEnvelopeSize+syncEntryOverhead) + 1024},
	} {
		if got := syncRequestLimit(tc.members); got != tc.want {
			t.Errorf("syncRequestLimit(%d) = %d; want %d", tc.members, got, tc.want)
		}
	}
	if syncRequestLimit(2) >= maxSyncMessage {
		t.Errorf("syncRequestLimit(2) = %d; want well below the old 8 MiB", syncRequestLimit(2))
	}
}
