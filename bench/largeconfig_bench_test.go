package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// largeRunning is how many members of a large config run in
// BenchmarkLargeConfig; the rest are absent.
const largeRunning = 3

// BenchmarkLargeConfig runs 3 real nodes (libp2p hosts and HTTP sidecars
// on loopback, default timing) whose config lists N members, the other
// N-3 absent: half with a url whose port closes every connection at once
// (it counts the bootstrap fetches a node makes), half with none (behind
// NAT: reached through relays, of which none holds their reservation).
// After the three see each other online and a settling pause, it measures
// a window and reports, per running node: Go heap after GC, CPU, goroutines
// and open file descriptors (the three nodes share this process: each
// figure is the process's divided by 3), and fetches of absent members'
// urls per second; and of node 1: the /api/view and /api/networks/<id>
// response sizes, /metrics series, events and history store bytes written.
// Growth per member should be about constant from N=250 to N=1000.
func BenchmarkLargeConfig(b *testing.B) {
	for _, n := range []int{250, 500, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				largeConfig(b, n)
			}
		})
	}
}

func largeConfig(b *testing.B, n int) {
	var fetches atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fetches.Add(1)
			c.Close()
		}
	}()
	baseG := runtime.NumGoroutine()
	baseFD := openFDs()
	start := time.Now()
	c := nodetest.StartCluster(b, largeRunning, nodetest.Options{Heartbeat: "1s", SuspectAfter: "3s",
		Absent: n - largeRunning, AbsentURL: "http://" + ln.Addr().String()})
	defer c.StopAll()
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, 5*time.Minute)
	converge := time.Since(start).Seconds()
	// Past the start burst and the redial backoff's growth (1 s doubling
	// to 60 s for members never up: 63 s), so the window is steady state.
	time.Sleep(70 * time.Second)

	hist := filepath.Join(c.Dirs[0], "data", "history.db")
	h0, cpu0, f0, t0 := storeSize(hist), cpuTime(), fetches.Load(), time.Now()
	ev0 := lastEventID(c)
	const window = 20 * time.Second
	time.Sleep(window)
	secs := time.Since(t0).Seconds()
	cpu := (cpuTime() - cpu0).Seconds() / secs / largeRunning
	fetchRate := float64(fetches.Load()-f0) / secs / largeRunning
	histRate := float64(storeSize(hist)-h0) / secs
	ev1 := lastEventID(c)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap := float64(ms.HeapAlloc) / largeRunning / (1 << 20)
	goroutines := float64(runtime.NumGoroutine()-baseG) / largeRunning
	fds := float64(openFDs()-baseFD) / largeRunning
	viewBytes := bodySize(b, c.URLs[0]+"/api/view")
	netBytes := bodySize(b, c.URLs[0]+"/api/networks/test")
	series := lines(b, c.URLs[0]+"/metrics", "meshmon_")
	allSeries := lines(b, c.URLs[0]+"/metrics", "")

	fmt.Printf("N=%-5d converge %5.2f s  heap %6.1f MiB/node (%5.1f KiB/member)  cpu %5.2f %%/node  goroutines %5.0f/node  fds %4.0f/node  url fetches %5.2f/s/node\n",
		n, converge, heap, heap*1024/float64(n), 100*cpu, goroutines, fds, fetchRate)
	fmt.Printf("N=%-5d /api/view %7d B (%4d B/member)  /api/networks/test %7d B  /metrics %6d meshmon_ series (%d lines)  events %d in %.0f s  history %6.0f B/s\n",
		n, viewBytes, viewBytes/n, netBytes, series, allSeries, ev1-ev0, secs, histRate)
	b.ReportMetric(heap, "heap_MiB/node")
	b.ReportMetric(heap*1024/float64(n), "heap_KiB/member")
	b.ReportMetric(100*cpu, "cpu_%/node")
	b.ReportMetric(goroutines, "goroutines/node")
	b.ReportMetric(fds, "fds/node")
	b.ReportMetric(fetchRate, "url_fetches/s/node")
	b.ReportMetric(float64(viewBytes), "view_B")
	b.ReportMetric(float64(netBytes), "network_B")
	b.ReportMetric(float64(series), "metric_series")
	b.ReportMetric(float64(ev1-ev0), "events")
	b.ReportMetric(histRate, "history_B/s")
	b.ReportMetric(converge, "converge_s")
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openFDs counts this process's open file descriptors (sockets included).
func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(es)
}

func storeSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func get(b *testing.B, url string) io.ReadCloser {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
	return resp.Body
}

func bodySize(b *testing.B, url string) int {
	body := get(b, url)
	defer body.Close()
	n, err := io.Copy(io.Discard, body)
	if err != nil {
		b.Fatal(err)
	}
	return int(n)
}

// lines counts the lines of url's body that start with prefix and are
// not comments.
func lines(b *testing.B, url, prefix string) int {
	body := get(b, url)
	defer body.Close()
	n := 0
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") && strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// lastEventID is the id of node 1's newest event (0: none).
func lastEventID(c *nodetest.Cluster) uint64 {
	var last uint64
	for _, e := range c.Node(0).Events().List(nil) {
		last = max(last, e.ID)
	}
	return last
}
