package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// BenchmarkEngineMembers measures one node's health engine in a network
// of N members, all connected, pinging and reporting as in a steady state
// (default timing; every member's Report holds an opinion of every other
// and is refreshed every 2 minutes), for N = 100, 250 and 500 (or the
// comma-separated sizes of MESHMON_ENGINE_N, up to 1,000). It reports the
// engine's CPU time and allocations per second of the network, its live
// heap, and the CPU the start took after the view showed every member
// online, so that the growth per member can be read at sizes that the
// simulated network (BenchmarkSimScale) cannot reach. Time is virtual
// (testing/synctest); the CPU figures are the process's.
//
//	go test -run '^$' -bench BenchmarkEngineMembers -benchtime 1x ./bench/
func BenchmarkEngineMembers(b *testing.B) {
	sizes := []int{100, 250, 500}
	if v := os.Getenv("MESHMON_ENGINE_N"); v != "" {
		var err error
		if sizes, err = simSizes(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				var r engineCost
				test := testing.InternalTest{Name: fmt.Sprintf("EngineMembers/N=%d", n), F: func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) { r = measureEngine(t, n) })
				}}
				if !testing.RunTests(func(_, _ string) (bool, error) { return true, nil }, []testing.InternalTest{test}) {
					b.Fatalf("the engine at N=%d failed (see above)", n)
				}
				fmt.Printf("engine N=%-5d CPU %7.1f ms/s (%5.3f ms/s per member)  allocated %7.1f MB/s  live heap %6.1f MiB (%5.1f KiB per member)  start took %v of CPU\n",
					n, r.cpuMsPerSec, r.cpuMsPerSec/float64(n), r.allocPerSec/1e6, r.heap/(1<<20), r.heap/1024/float64(n), r.setupCPU.Round(time.Millisecond))
				b.ReportMetric(r.cpuMsPerSec, "cpu_ms/s")
				b.ReportMetric(r.allocPerSec, "alloc_B/s")
				b.ReportMetric(r.heap, "heap_B")
			}
		})
	}
}

// engineCost is what one engine cost in a steady state.
type engineCost struct {
	// setupCPU: CPU time the engine took to take in the start: every
	// member's link, first evidence and Report.
	setupCPU                       time.Duration
	cpuMsPerSec, allocPerSec, heap float64
}

// discard is a publisher that drops every message.
type discard struct{}

func (discard) Publish(context.Context, *pb.Envelope) error { return nil }

// measureEngine runs an engine of n members in the current bubble.
func measureEngine(t *testing.T, n int) engineCost {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	members := make([]health.Member, n)
	peers := make([]string, n)
	for i := range n {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := p2p.PeerIDFromPublicKey(key.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		peers[i] = fmt.Sprintf("m%04d", i)
		members[i] = health.Member{NodeID: peers[i], PeerID: id}
	}
	e := health.NewEngine(health.EngineConfig{
		NetworkID: simNetworkID, Self: peers[0], Members: members,
		Heartbeat: time.Second, SuspectAfter: 3 * time.Second, Version: "sim",
		Logger: slog.New(slog.DiscardHandler), Events: health.NewEventLog(256, nil),
	}, discard{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	seq := make([]uint64, n)
	report := func(i int) {
		seq[i]++
		r := &pb.Report{Peers: make([]*pb.PeerObservation, 0, n-1)}
		for j := range n {
			if j != i {
				r.Peers = append(r.Peers, &pb.PeerObservation{NodeId: peers[j], Reachability: pb.Reachability_REACHABILITY_REACHABLE,
					Connected: true, RttUs: 5000})
			}
		}
		e.HandleMessage(p2p.Message{From: members[i].PeerID, Env: &pb.Envelope{
			Header: &pb.Header{NetworkId: simNetworkID, NodeId: peers[i], BootId: 1, Seq: seq[i], SentUnixMs: time.Now().UnixMilli()},
			Body:   &pb.Envelope_Report{Report: r},
		}})
	}
	setup := processCPU()
	for i := 1; i < n; i++ {
		e.HandleLink(peers[i], p2p.Link{Connected: true})
		e.HandlePinged(peers[i])
		report(i)
	}
	online := func() bool {
		v := e.View()
		for _, p := range peers {
			if nv := v.Nodes[p]; nv == nil || nv.Status != health.StatusOnline || !nv.Confirmed {
				return false
			}
		}
		return true
	}
	for start := time.Now(); !online(); time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("N=%d: not every member online and confirmed after a minute", n)
		}
	}

	// The inputs above are queued; the view can show every member online
	// before the engine has taken them all in. Virtual time only moves
	// when the engine waits, so this sleep ends once it has.
	time.Sleep(time.Second)
	setup = processCPU() - setup

	// The steady state: every member is pinged every second, and each
	// refreshes its Report every 2 minutes (n/120 Reports a second).
	const window = 20 * time.Second
	cpu0 := processCPU()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	next := 1
	for s := 0; s < int(window/time.Second); s++ {
		for i := 1; i < n; i++ {
			e.HandlePinged(peers[i])
		}
		for k := 0; k < max(n/120, 1); k++ {
			report(next)
			next = next%(n-1) + 1
		}
		time.Sleep(time.Second)
	}
	cpu := processCPU() - cpu0
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if !online() {
		t.Errorf("N=%d: a member is not online and confirmed after the window", n)
	}
	return engineCost{
		setupCPU:    setup,
		cpuMsPerSec: float64(cpu.Milliseconds()) / window.Seconds(),
		allocPerSec: float64(m1.TotalAlloc-m0.TotalAlloc) / window.Seconds(),
		heap:        float64(int64(after.HeapAlloc) - int64(before.HeapAlloc)),
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
