package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// BenchmarkScale runs N real nodes in this process (real libp2p hosts on
// loopback, default timing) and reports the time until every node sees
// every node online, the libp2p bytes (all protocols, before encryption and
// TCP/IP) per node per second in steady state, and the time until every
// survivor sees a killed node offline. Cost per node should grow about
// linearly with N.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				start := time.Now()
				c := nodetest.StartCluster(b, n, nodetest.Options{Heartbeat: "1s", SuspectAfter: "3s"})
				c.WaitStatus(c.All(), c.All(), health.StatusOnline, 5*time.Minute)
				converge := time.Since(start).Seconds()

				time.Sleep(5 * time.Second) // let the startup burst pass
				read := func() []int64 {
					out := make([]int64, n)
					for i := range n {
						bw := c.Node(i).Host().Bandwidth()
						out[i] = bw.TotalIn + bw.TotalOut
					}
					return out
				}
				t0, s0 := time.Now(), read()
				time.Sleep(10 * time.Second) // the measurement window
				s1 := read()
				secs := time.Since(t0).Seconds()
				rates := make([]float64, n)
				for i := range n {
					rates[i] = float64(s1[i]-s0[i]) / 2 / secs
				}
				fmt.Printf("N=%-4d converge %6.2f s\n", n, converge)
				b.ReportMetric(converge, "converge_s")
				report(b, fmt.Sprintf("N%d_libp2p_Bps", n), rates, "libp2p payload bytes/s per node (in+out)/2")

				// A crash: the last node's host is closed at once.
				victim := n - 1
				killed := time.Now()
				c.Kill(victim)
				survivors := c.Except(victim)
				c.WaitStatus(survivors, []int{victim}, health.StatusOffline, 2*time.Minute)
				detect := time.Since(killed).Seconds()
				fmt.Printf("N=%-4d crash seen offline by every survivor after %.2f s\n", n, detect)
				b.ReportMetric(detect, "crash_detect_s")
				c.StopAll()
			}
		})
	}
}
