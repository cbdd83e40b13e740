package bench

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// BenchmarkSimScale runs N meshmon nodes in this process on a simulated
// network (simnet_test.go: real hosts and engines, QUIC over simnet, virtual
// time in a testing/synctest bubble) and reports, for each N: the time
// until every node sees every node online, the IP bytes and packets each
// node sends per second in steady state, the live Go heap per node after
// convergence, the peak Go heap of the whole run, what the start cost each
// node (sync exchanges, reports, messages admitted), and the time until
// every survivor sees a hung node (it stops answering) and a stopped node
// (its host closes) offline. Times are virtual: they leave out CPU
// contention, so they show what the protocol does, not what a busy machine
// does.
//
// The sizes are N = 10, 30 and 60; MESHMON_SIM_N (comma-separated) picks
// others, e.g. N=100 alone. The nodes start all at once;
// MESHMON_SIM_STAGGER (a duration, e.g. 200ms) starts them that far apart
// instead, so that every node joins a network that is already running and
// catches up by sync. Convergence is then counted from the last start.
//
//	go test -run '^$' -bench BenchmarkSimScale -benchtime 1x ./bench/
//	MESHMON_SIM_N=100 go test -run '^$' -bench BenchmarkSimScale -benchtime 1x -timeout 60m ./bench/
func BenchmarkSimScale(b *testing.B) {
	sizes, err := simSizes(os.Getenv("MESHMON_SIM_N"))
	if err != nil {
		b.Fatal(err)
	}
	var stagger time.Duration
	if v := os.Getenv("MESHMON_SIM_STAGGER"); v != "" {
		if stagger, err = time.ParseDuration(v); err != nil || stagger < 0 {
			b.Fatalf("MESHMON_SIM_STAGGER: %q is not a duration", v)
		}
	}
	warmGlobals()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				r, peak := runSimulation(b, n, stagger)
				fmt.Printf("sim N=%-4d converge %5.2f s  %7.0f B/s %5.1f packets/s per node  heap %5.2f MiB per node, peak %6.0f MiB  hung → offline %5.2f s  stopped → offline %5.2f s\n",
					n, r.converge.Seconds(), r.bytesPerNode, r.packetsPerNode, r.heapPerNode/(1<<20), float64(peak)/(1<<20), r.hung.Seconds(), r.stopped.Seconds())
				fmt.Printf("sim N=%-4d start %v\n", n, r.start)
				b.ReportMetric(r.converge.Seconds(), "converge_s")
				b.ReportMetric(r.bytesPerNode, "IP_B/s/node")
				b.ReportMetric(r.packetsPerNode, "packets/s/node")
				b.ReportMetric(r.heapPerNode, "heap_B/node")
				b.ReportMetric(float64(peak), "peak_heap_B")
				b.ReportMetric(r.start.syncs, "start_syncs/node")
				b.ReportMetric(r.start.syncBytes, "start_sync_B/node")
				b.ReportMetric(r.start.reports, "start_reports/node")
				b.ReportMetric(r.hung.Seconds(), "hung_detect_s")
				b.ReportMetric(r.stopped.Seconds(), "stop_detect_s")
			}
		})
	}
}

// simSizes parses MESHMON_SIM_N: comma-separated sizes from 3 to 1000,
// or empty for the default 10, 30 and 60.
func simSizes(v string) ([]int, error) {
	if v == "" {
		return []int{10, 30, 60}, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 3 || n > 1000 {
			return nil, fmt.Errorf("MESHMON_SIM_N: %q is not a size from 3 to 1000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runSimulation runs simulate(n) in a synctest bubble and returns its
// result and the peak of the Go heap's objects during the run, sampled
// every 50 ms of real time. synctest.Test needs a *testing.T, which a
// benchmark does not have, so the simulation runs as a test of its own
// through testing.RunTests (the function go test's main calls; exported
// for it). Its failures are printed, and fail b.
func runSimulation(b *testing.B, n int, stagger time.Duration) (simResult, uint64) {
	b.Helper()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var r simResult
	test := testing.InternalTest{Name: fmt.Sprintf("Simulation/N=%d", n), F: func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { r = simulate(t, n, stagger) })
	}}
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil }, []testing.InternalTest{test})
	close(stop)
	<-sampled
	if !ok {
		b.Fatalf("the simulation of N=%d failed (see above)", n)
	}
	return r, peak.Load()
}
