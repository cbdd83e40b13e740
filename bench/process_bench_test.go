package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// procNodes is how many `meshmon run` processes the process benchmark runs.
const procNodes = 10

// rounds is how many times each failure is measured.
const rounds = 5

// BenchmarkProcesses starts 10 `meshmon run` processes on loopback with the
// default timing (1s heartbeat, suspect after 3s) and measures (a) hung-node
// detection (SIGSTOP), (b) crash detection (SIGKILL), (c) RSS per process and
// (d) gossip bytes per second per node in steady state.
func BenchmarkProcesses(b *testing.B) {
	for range b.N {
		p := nodetest.StartProcs(b, nodetest.Binary(b), procNodes, nodetest.ProcOptions{})
		all := make([]int, procNodes)
		for i := range all {
			all[i] = i
		}
		p.WaitAgree(all, all, health.StatusOnline, 2*time.Minute)

		// (d) steady-state gossip: let the startup burst pass, then measure
		// every node's gossip byte counters over a window.
		time.Sleep(5 * time.Second) // a measurement pause, not a wait for a condition
		rates := gossipRates(b, p, all, 10*time.Second)
		// (c) RSS after a while of steady state.
		var rss []float64
		for _, i := range all {
			v, err := p.RSS(i)
			if err != nil {
				b.Fatal(err)
			}
			rss = append(rss, float64(v)/(1<<20))
		}

		var hung, crash []float64
		n := rounds
		if v, err := strconv.Atoi(os.Getenv("MESHMON_BENCH_ROUNDS")); err == nil {
			n = v
		}
		for r := range n {
			victim := (r*3 + 1) % procNodes
			others := except(all, victim)

			start := time.Now()
			p.Signal(victim, syscall.SIGSTOP)
			p.WaitAgree(others, []int{victim}, health.StatusOffline, time.Minute)
			hung = append(hung, time.Since(start).Seconds())
			p.Signal(victim, syscall.SIGCONT)
			p.WaitAgree(all, all, health.StatusOnline, time.Minute)

			start = time.Now()
			p.Signal(victim, syscall.SIGKILL)
			p.WaitAgree(others, []int{victim}, health.StatusOffline, time.Minute)
			crash = append(crash, time.Since(start).Seconds())
			p.Wait(victim, 10*time.Second)
			p.Start(victim)
			p.WaitAgree(all, all, health.StatusOnline, time.Minute)
		}

		if n == 0 {
			report(b, "rss_MB", rss, "(c) RSS per process; target ≤ 32 MB")
			report(b, "gossip_Bps", rates, "(d) gossip bytes/s per node (in+out)/2; target ≤ 2 kB/s")
			continue
		}
		report(b, "hung_detect_s", hung, "(a) SIGSTOP → all survivors say offline; target median ≤ 3.0 s")
		report(b, "crash_detect_s", crash, "(b) SIGKILL → all survivors say offline; target median ≤ 1.0 s")
		report(b, "rss_MB", rss, "(c) RSS per process; target ≤ 32 MB")
		report(b, "gossip_Bps", rates, "(d) gossip bytes/s per node (in+out)/2; target ≤ 2 kB/s")
	}
}

// gossipRates measures each node's gossip traffic, (in+out)/2 bytes per
// second, over window.
func gossipRates(b *testing.B, p *nodetest.Procs, nodes []int, window time.Duration) []float64 {
	b.Helper()
	type sample struct{ in, out int64 }
	read := func() []sample {
		out := make([]sample, len(nodes))
		for k, i := range nodes {
			info, err := p.P2P(i)
			if err != nil || info.Bandwidth == nil {
				b.Fatalf("p2p info of %s: %v", p.Names[i], err)
			}
			out[k] = sample{info.Bandwidth.GossipIn, info.Bandwidth.GossipOut}
		}
		return out
	}
	t0, s0 := time.Now(), read()
	time.Sleep(window) // the measurement window
	s1 := read()
	secs := time.Since(t0).Seconds()
	rates := make([]float64, len(nodes))
	for k := range nodes {
		rates[k] = float64((s1[k].in-s0[k].in)+(s1[k].out-s0[k].out)) / 2 / secs
	}
	return rates
}

func except(all []int, skip int) []int {
	out := make([]int, 0, len(all)-1)
	for _, i := range all {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

// report prints median and max of xs and reports them as metrics.
func report(b *testing.B, name string, xs []float64, what string) {
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	mx := s[len(s)-1]
	fmt.Printf("%-16s median %8.3f  max %8.3f  n=%d   %s\n", name, med, mx, len(s), what)
	b.ReportMetric(med, name+"_median")
	b.ReportMetric(mx, name+"_max")
}
