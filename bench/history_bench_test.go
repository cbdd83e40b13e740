package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// benchClock is a wall and monotonic clock the benchmark moves.
type benchClock struct {
	mu      sync.Mutex
	wall    time.Time
	elapsed time.Duration
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *benchClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elapsed
}

func (c *benchClock) advance(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.elapsed += d
	c.mu.Unlock()
}

// fullMesh is the view of a network of n members, every one online and
// linked both ways with an RTT that changes with tick.
func fullMesh(n, tick int) *health.View {
	nv := &health.NetworkView{NetworkID: "bench", Self: "n00", Nodes: map[string]*health.NodeView{}}
	id := func(i int) string { return fmt.Sprintf("n%02d", i) }
	for i := range n {
		obs := map[string]health.ObserverView{}
		for j := range n {
			if j != i {
				obs[id(j)] = health.ObserverView{Opinion: "reachable", RTTMs: 1 + float64((i*7+j*3+tick)%40)/10, Connected: true}
			}
		}
		nv.Nodes[id(i)] = &health.NodeView{NodeID: id(i), Status: health.StatusOnline, Confirmed: true,
			AgreedBy: n, LiveObservers: n, Observers: obs}
		for j := range n {
			if j != i {
				nv.Connections = append(nv.Connections, health.Connection{Src: id(i), Dst: id(j),
					RTTMs: 1 + float64((i*3+j*7+tick)%40)/10, Status: "up"})
			}
		}
	}
	return &health.View{Networks: map[string]*health.NetworkView{"bench": nv}}
}

// BenchmarkHistoryStore runs the real history Recorder over a real store
// for two simulated hours of a full mesh of N members (one view sample
// every 5 s, one write per 5 s as in production, a status change every 10
// minutes) and reports the store's growth per simulated day and the
// records written per simulated second. It reports; it does not assert.
func BenchmarkHistoryStore(b *testing.B) {
	const minutes = 120
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				store, _, err := history.Open(dir, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				clock := &benchClock{wall: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				events := health.NewEventLog(1000, clock.Now)
				var mu sync.Mutex
				tick := 0
				view := func() *health.View {
					mu.Lock()
					defer mu.Unlock()
					return fullMesh(n, tick)
				}
				rec := history.NewRecorder(history.RecorderConfig{Store: store, Events: events, View: view,
					Now: clock.Now, Elapsed: clock.Elapsed, Session: 1, Sample: time.Hour, Flush: time.Hour, PruneEvery: time.Hour})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					_ = rec.Run(ctx)
				}()
				flush := func() {
					if err := rec.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
				flush()
				size0 := fileSize(b, dir)
				rec0 := rec.Stats().Records
				var writeTime time.Duration
				b.ResetTimer()
				for i := range minutes * 12 {
					clock.advance(5 * time.Second)
					mu.Lock()
					tick++
					mu.Unlock()
					if i%120 == 0 { // a flap every 10 minutes
						events.Add(health.Event{Network: "bench", Node: "n01", Kind: "status", Severity: health.SeverityError,
							Message: "n01 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: true})
						events.Add(health.Event{Network: "bench", Node: "n01", Kind: "status", Severity: health.SeverityInfo,
							Message: "n01 is online", From: health.StatusOffline, To: health.StatusOnline, Confirmed: true})
					}
					t := time.Now()
					flush()
					writeTime += time.Since(t)
				}
				b.StopTimer()
				cancel()
				<-done
				records := rec.Stats().Records - rec0
				inUse := store.InUse()
				store.Close()
				grown := fileSize(b, dir) - size0
				perDay := float64(inUse) * 1440 / minutes
				simSecs := float64(minutes * 60)
				fmt.Printf("history N=%-3d store %.1f MiB/day (records in use after %d simulated min: %.2f MiB; the file, grown ahead by bbolt: %.1f MiB), %.0f records/s, %.2f ms per 5 s batch\n",
					n, perDay/(1<<20), minutes, float64(inUse)/(1<<20), float64(grown)/(1<<20), float64(records)/simSecs,
					float64(writeTime.Microseconds())/1000/float64(minutes*12))
				b.ReportMetric(perDay/(1<<20), "MiB/day")
				b.ReportMetric(float64(records)/simSecs, "records/s")
				b.ReportMetric(float64(writeTime.Microseconds())/1000/float64(minutes*12), "ms/batch")
			}
		})
	}
}

func fileSize(b *testing.B, dir string) int64 {
	b.Helper()
	fi, err := os.Stat(filepath.Join(dir, history.FileName))
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
