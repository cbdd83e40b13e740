package bench

import (
	"fmt"
	"testing"
	"testing/synctest"
)

// BenchmarkSimScale runs N meshmon nodes in this process on a simulated
// network (simnet_test.go: real hosts and engines, QUIC over simnet, virtual
// time in a testing/synctest bubble) and reports, for N = 10, 30 and 60:
// the time until every node sees every node online, the IP bytes and
// packets each node sends per second in steady state, the live Go heap per
// node, and the time until every survivor sees a hung node (it stops
// answering) and a stopped node (its host closes) offline. Times are
// virtual: they leave out CPU contention, so they show what the protocol
// does, not what a busy machine does.
//
// N=100 does not fit this machine: when all nodes start at once, the
// signed gossip messages and sync exchanges of the start pile up faster
// than the process verifies them (at N=50 the largest part of the live heap,
// 41 %, was gossip messages being decoded), and at N=100 the process passed 11 GB
// before it converged. docs/performance.md has the figures. Run it with
//
//	go test -run '^$' -bench BenchmarkSimScale -benchtime 1x ./bench/
func BenchmarkSimScale(b *testing.B) {
	warmGlobals()
	for _, n := range []int{10, 30, 60} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				r := runSimulation(b, n)
				fmt.Printf("sim N=%-4d converge %5.2f s  %7.0f B/s %5.1f packets/s per node  heap %5.2f MiB per node  hung → offline %5.2f s  stopped → offline %5.2f s\n",
					n, r.converge.Seconds(), r.bytesPerNode, r.packetsPerNode, r.heapPerNode/(1<<20), r.hung.Seconds(), r.stopped.Seconds())
				b.ReportMetric(r.converge.Seconds(), "converge_s")
				b.ReportMetric(r.bytesPerNode, "IP_B/s/node")
				b.ReportMetric(r.packetsPerNode, "packets/s/node")
				b.ReportMetric(r.heapPerNode, "heap_B/node")
				b.ReportMetric(r.hung.Seconds(), "hung_detect_s")
				b.ReportMetric(r.stopped.Seconds(), "stop_detect_s")
			}
		})
	}
}

// runSimulation runs simulate(n) in a synctest bubble. synctest.Test needs
// a *testing.T, which a benchmark does not have, so the simulation runs as
// a test of its own through testing.RunTests (the function go test's main
// calls; exported for it). Its failures are printed, and fail b.
func runSimulation(b *testing.B, n int) simResult {
	b.Helper()
	var r simResult
	test := testing.InternalTest{Name: fmt.Sprintf("Simulation/N=%d", n), F: func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { r = simulate(t, n) })
	}}
	if !testing.RunTests(func(_, _ string) (bool, error) { return true, nil }, []testing.InternalTest{test}) {
		b.Fatalf("the simulation of N=%d failed (see above)", n)
	}
	return r
}
