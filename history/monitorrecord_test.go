package history

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
)

// snapAt is a snapshot of monitor shop with vantages a (self) and b.
func snapAt(status monitor.Status, since time.Time, aLat, bLat time.Duration, at time.Time, failing ...string) *monitor.Snapshot {
	st := func(lat time.Duration, node string) monitor.State {
		if slices.Contains(failing, node) {
			return monitor.StateDown
		}
		return monitor.StateUp
	}
	return &monitor.Snapshot{Network: "prod", UpdatedAt: at, Monitors: []monitor.View{{
		Name: "shop", Type: "https", Target: "https://shop.example", Group: "web", Interval: time.Minute,
		Verdict: monitor.Verdict{Status: status, Live: 2, Failing: failing},
		Since:   since,
		Vantages: []monitor.Vantage{
			{Node: "a", Live: true, Has: true, State: st(aLat, "a"), Latency: aLat, At: at, Since: since},
			{Node: "b", Live: true, Has: true, State: st(bLat, "b"), Latency: bLat, At: at, Since: since},
		},
	}}}
}

func TestRecorderRecordsMonitors(t *testing.T) {
	env := newRecorderEnv(t, tm(0).Add(10*time.Second), health.StatusOnline, "up", nil)
	store, clock, rec := env.store, env.clock, env.rec
	start := clock.Now()

	t0 := clock.Now()
	rec.ObserveMonitors(snapAt(monitor.StatusUp, t0, 10*time.Millisecond, 30*time.Millisecond, t0))
	// The same snapshot again: neither a change nor new latencies.
	rec.ObserveMonitors(snapAt(monitor.StatusUp, t0, 10*time.Millisecond, 30*time.Millisecond, t0))
	clock.Advance(20 * time.Second)
	t1 := clock.Now()
	rec.ObserveMonitors(snapAt(monitor.StatusUp, t0, 20*time.Millisecond, 50*time.Millisecond, t1))
	flush(t, rec)
	clock.Advance(time.Minute)
	t2 := clock.Now()
	rec.ObserveMonitors(snapAt(monitor.StatusDown, t2, 0, 0, t2, "a", "b"))
	flush(t, rec)
	clock.Advance(2 * time.Minute)
	t3 := clock.Now()
	rec.ObserveMonitors(snapAt(monitor.StatusDegraded, t3, 0, 40*time.Millisecond, t3, "a"))
	flush(t, rec)
	clock.Advance(time.Minute)
	flush(t, rec)

	cs, err := store.MonitorChanges("prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	var tos []string
	for _, c := range cs {
		tos = append(tos, c.From+"→"+c.To)
	}
	if want := []string{"up→up", "up→down", "down→degraded"}; !slices.Equal(tos, want) {
		t.Fatalf("recorded verdicts = %v; want %v", tos, want)
	}
	if !cs[1].Time.Equal(t2) || !slices.Equal(cs[1].Failing, []string{"a", "b"}) || cs[1].Live != 2 {
		t.Errorf("the change to down = %+v; want at %v, failing a and b of 2 live", cs[1], t2)
	}
	if !slices.Equal(cs[2].Failing, []string{"a"}) {
		t.Errorf("the change to degraded = %+v; want a named as failing", cs[2])
	}

	u, _, err := rec.MonitorUptime("prod", "shop", start, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Outages) != 1 || u.Outages[0].DurationMs != (2*time.Minute).Milliseconds() ||
		u.DownMs != (2*time.Minute).Milliseconds() || u.DegradedMs != time.Minute.Milliseconds() {
		t.Errorf("MonitorUptime = %+v; want one 2-minute outage and a minute degraded", u)
	}

	// Each result is folded in once: a's first minute holds 10 and 20 ms.
	rs, err := store.RTT(VantageSubject("prod", "shop", "a"), Minute, start.Truncate(time.Minute), clock.Now())
	if err != nil || len(rs) == 0 || rs[0].Count != 2 || rs[0].Min != 10 || rs[0].Max != 20 || rs[0].Mean != 15 {
		t.Errorf("latency of a = %+v, %v; want a first minute of 2 results, 10 to 20 ms", rs, err)
	}
	rs, err = store.RTT(VantageSubject("prod", "shop", "b"), Minute, start.Truncate(time.Minute), clock.Now())
	if err != nil || len(rs) != 2 || rs[0].Mean != 40 || rs[1].Mean != 40 {
		t.Errorf("latency of b = %+v, %v; want minutes of 40 ms (30 and 50), then 40 ms", rs, err)
	}
}

func TestRecorderMonitorsAcrossAClockStep(t *testing.T) {
	env := newRecorderEnv(t, tm(0), health.StatusOnline, "up", nil)
	clock, rec := env.clock, env.rec
	rec.ObserveMonitors(snapAt(monitor.StatusDown, clock.Now(), 0, 0, clock.Now(), "a", "b"))
	flush(t, rec)
	clock.Advance(5 * time.Minute)
	flush(t, rec)
	clock.Step(time.Hour)
	clock.Advance(5 * time.Minute)
	flush(t, rec)
	u, _, err := rec.MonitorUptime("prod", "shop", tm(0), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The new session carries the verdict on: down on both sides of the
	// jump, which is no data.
	if u.DownMs != (10*time.Minute).Milliseconds() || u.NoDataMs != time.Hour.Milliseconds() {
		t.Errorf("monitor uptime over a clock step = %+v; want 10 min down and the hour as no data", u)
	}
}

// monitorSource is a snapshot source the test swaps.
type monitorSource struct {
	mu   sync.Mutex
	snap *monitor.Snapshot
}

func (m *monitorSource) get() []*monitor.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap == nil {
		return nil
	}
	return []*monitor.Snapshot{m.snap}
}

func (m *monitorSource) set(s *monitor.Snapshot) {
	m.mu.Lock()
	m.snap = s
	m.mu.Unlock()
}

// TestRecorderSamplesMonitors: with RecorderConfig.Monitors the recorder
// reads the snapshots itself, every Sample, without ObserveMonitors.
func TestRecorderSamplesMonitors(t *testing.T) {
	src := &monitorSource{}
	env := newRecorderEnv(t, tm(0).Add(10*time.Second), health.StatusOnline, "up", func(c *RecorderConfig) { c.Monitors = src.get })
	store, clock, rec := env.store, env.clock, env.rec
	t0 := clock.Now()
	src.set(snapAt(monitor.StatusUp, t0, 10*time.Millisecond, 30*time.Millisecond, t0))
	flush(t, rec) // Flush samples
	flush(t, rec) // the same snapshot again: nothing new
	clock.Advance(time.Minute)
	t1 := clock.Now()
	src.set(snapAt(monitor.StatusDown, t1, 0, 0, t1, "a", "b"))
	flush(t, rec)
	cs, err := store.MonitorChanges("prod", "shop")
	if err != nil || len(cs) != 2 || cs[0].To != "up" || cs[1].To != "down" || !cs[1].Time.Equal(t1) {
		t.Fatalf("sampled verdicts = %+v, %v; want up, then down at %v", cs, err, t1)
	}
	rs, err := store.RTT(VantageSubject("prod", "shop", "b"), Minute, t0.Truncate(time.Minute), clock.Now())
	if err != nil || len(rs) != 1 || rs[0].Count != 1 || rs[0].Mean != 30 {
		t.Errorf("sampled latency of b = %+v, %v; want one result of 30 ms", rs, err)
	}
}
