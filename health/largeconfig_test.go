package health

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// TestEngineLargeConfigMostlyAbsent: in a 1,000-member config of which
// three members run, the view lists every member but only the links
// something is known of, and this node's report lists only the members
// it has heard or is connected to. Both were N² links and N entries (a
// 999,000-link view rebuilt every second, and 999-entry reports).
func TestEngineLargeConfigMostlyAbsent(t *testing.T) {
	const n = 1000
	members := make([]string, n)
	members[0], members[1], members[2] = "a", "b", "c"
	for i := 3; i < n; i++ {
		members[i] = fmt.Sprintf("absent-%04d", i)
	}
	clock := newFakeClock(t0)
	d := newDriver(t, clock, members...)
	running := pb.State_STATE_RUNNING
	for _, m := range []string{"b", "c"} {
		d.msg(heartbeatMsg(m, running, 0))
		d.link(m, p2p.Link{Connected: true})
		d.ping(m, 2*time.Millisecond)
	}
	d.msg(reportMsg("b", map[string]Opinion{"a": OpinionReachable, "c": OpinionReachable}))
	d.msg(reportMsg("c", map[string]Opinion{"a": OpinionReachable, "b": OpinionReachable}))

	v := d.s.e.View()
	if len(v.Nodes) != n {
		t.Fatalf("view has %d nodes; want %d", len(v.Nodes), n)
	}
	for _, id := range []string{"a", "b", "c"} {
		if got := v.Nodes[id].Status; got != StatusOnline {
			t.Errorf("view of %s = %s; want online", id, got)
		}
	}
	for _, id := range members[3:] {
		if nv := v.Nodes[id]; nv.Status != StatusUnknown || nv.LastHeardMs != -1 || len(nv.Observers) != 0 {
			t.Fatalf("view of absent %s = %s, last heard %d ms, %d observers; want unknown, never heard, none",
				id, nv.Status, nv.LastHeardMs, len(nv.Observers))
		}
	}
	// The six links among a, b and c are up; no other link is known.
	if len(v.Connections) != 6 {
		t.Errorf("view lists %d links; want the 6 among the running members", len(v.Connections))
	}
	for _, c := range v.Connections {
		if c.Status != "up" {
			t.Errorf("link %+v; want up", c)
		}
	}
	d.s.send(d.s.report())
	r := d.lastReport()
	got := reportOpinions(r)
	if len(got) != 2 || got["b"] != OpinionReachable || got["c"] != OpinionReachable {
		t.Errorf("a's report = %v; want b and c reachable and no entry for the absent members", got)
	}
}

// largeDriver is a driver of n members (this node is the first) of which
// running run, each other running member having reported every member
// it can see (the running ones) reachable.
func largeDriver(tb testing.TB, n, running int) *driver {
	members := make([]string, n)
	for i := range members {
		members[i] = fmt.Sprintf("m%04d", i)
	}
	clock := newFakeClock(t0)
	e, events := testEngine(&testing.T{}, clock.Now, nil, members...)
	out := make(chan *pb.Envelope, 1<<16)
	s := newEngineState(e, 7)
	s.out = out
	d := &driver{s: s, out: out, events: events}
	up := map[string]Opinion{}
	for _, m := range members[:running] {
		up[m] = OpinionReachable
	}
	for _, m := range members[1:running] {
		s.onMessage(heartbeatMsg(m, pb.State_STATE_RUNNING, 0), t0)
		// Not onLink: it evaluates at once, each time (N full evaluations).
		s.link[m] = p2p.Link{Connected: true}
		s.answered(m, 2*time.Millisecond, t0)
		s.onMessage(reportMsg(m, up), t0)
	}
	s.dirty = true
	s.evaluate()
	return d
}

// BenchmarkEvaluateLargeConfig measures one evaluation that rebuilds the
// view (consensus over every member and the view), 10 a second at most,
// in a 250-, 500- and 1,000-member network: with 3 members running (the
// rest absent) and with every member running (each holding a report of
// every member: N² opinions). It reports the view's links, its JSON size
// and the heap held (the state and the view, after GC). The absent case
// grows linearly; the all-running one with N².
func BenchmarkEvaluateLargeConfig(b *testing.B) {
	for _, all := range []bool{false, true} {
		for _, n := range []int{250, 500, 1000} {
			running, name := 3, "absent"
			if all {
				running, name = n, "all-running"
			}
			b.Run(fmt.Sprintf("%s/N=%d", name, n), func(b *testing.B) {
				d := largeDriver(b, n, running)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					d.s.dirty = true
					d.s.evaluate()
				}
				b.StopTimer()
				v := d.s.e.View()
				data, err := json.Marshal(v)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(v.Connections)), "links")
				b.ReportMetric(float64(len(data)), "view_B")
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap_MiB")
				runtime.KeepAlive(d)
			})
		}
	}
}

// TestEngineSpacesCostlyRebuilds: a rebuild of consensus and the view that
// took long (a large network whose members all run) is no pause of this
// node, and the next waits rebuildSpacing times its cost. Before, a
// rebuild longer than half a heartbeat made the node take itself for
// paused after each one, withdraw its suspicions and flap.
func TestEngineSpacesCostlyRebuilds(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	const cost = time.Second
	d.s.e.cfg.OnView = func(*NetworkView) { clock.Advance(cost) } // the rebuild takes a second
	d.s.lastTick = clock.Now()
	start := clock.Now()
	d.msg(heartbeatMsg("b", pb.State_STATE_RUNNING, 0))
	end := clock.Now()
	if got := d.s.e.View().UpdatedAt; !got.Equal(start) || !end.Equal(start.Add(cost)) {
		t.Fatalf("view at %v, clock at %v; want a rebuild at %v that took %v", got, end, start, cost)
	}
	clock.Advance(100 * time.Millisecond)
	d.s.checkPause(clock.Now(), 100*time.Millisecond)
	if n := d.s.e.Pauses.Load(); n != 0 || d.s.aware.Recovering(clock.Now(), d.s.suspectAfter) {
		t.Fatalf("after a rebuild of %v: %d pauses, recovering %v; want none: the engine's own work is no pause", cost, n, d.s.aware.Recovering(clock.Now(), d.s.suspectAfter))
	}
	d.msg(heartbeatMsg("c", pb.State_STATE_RUNNING, 0))
	if got := d.s.e.View().UpdatedAt; !got.Equal(start) {
		t.Errorf("rebuilt at %v, %v after a rebuild of %v; want the next no sooner than %v after it", got, got.Sub(end), cost, rebuildSpacing*cost)
	}
	if d.s.e.View().Nodes["c"].Version != "" {
		t.Errorf("view shows c's announce before the spacing passed")
	}
	clock.Advance(rebuildSpacing*cost - 100*time.Millisecond)
	d.s.evaluate()
	if got := d.s.e.View().UpdatedAt; !got.Equal(end.Add(rebuildSpacing * cost)) {
		t.Errorf("view at %v; want a rebuild at %v, once the spacing passed", got, end.Add(rebuildSpacing*cost))
	}
	if v := d.s.e.View().Nodes["c"].Version; v != "v-c" {
		t.Errorf("view of c after the spacing: version %q; want v-c (the input held back is in)", v)
	}
}

// TestEngineTellsAStopFromACostlyRebuild: a rebuild that took a second of
// wall time in which the process used almost no CPU (a throttled cgroup
// stopped it) is no cost of the engine's: the next rebuild is not held
// back, and the pause check still sees the stop, so the node withdraws its
// silence-based suspicions instead of publishing them. A rebuild in which
// the process worked is spaced and not taken for a pause.
func TestEngineTellsAStopFromACostlyRebuild(t *testing.T) {
	for _, c := range []struct {
		name      string
		cpuUsed   time.Duration // CPU the process uses in the rebuild's second of wall time
		wantPause bool
	}{
		{"stopped", 0, true},
		{"worked", time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock(t0)
			d := newDriver(t, clock, "a", "b", "c")
			var cpu time.Duration
			d.s.e.cfg.CPUTime = func() (time.Duration, bool) { return cpu, true }
			d.s.e.cfg.OnView = func(*NetworkView) {
				clock.Advance(time.Second) // the rebuild's wall time
				cpu += c.cpuUsed
			}
			d.s.lastTick = clock.Now()
			d.msg(heartbeatMsg("b", pb.State_STATE_RUNNING, 0))
			d.s.e.cfg.OnView = nil
			clock.Advance(100 * time.Millisecond)
			d.s.checkPause(clock.Now(), 100*time.Millisecond)
			if got := d.s.e.Pauses.Load() == 1; got != c.wantPause {
				t.Errorf("pause counted after the rebuild: %v; want %v", got, c.wantPause)
			}
			held := clock.Now().Before(d.s.rebuildAt)
			if held == c.wantPause {
				t.Errorf("next rebuild held back until %v (now %v); want held %v", d.s.rebuildAt, clock.Now(), !c.wantPause)
			}
		})
	}
}
