package history

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
)

func mch(session uint64, m float64, to monitor.Status, failing ...string) MonitorChange {
	return MonitorChange{Network: "n", Monitor: "shop", Session: session, Time: tm(m), To: string(to), Live: 3,
		Failing: failing}
}

func TestMonitorUptime(t *testing.T) {
	type want struct {
		up, degraded, down, noData int64 // minutes
		percent                    *float64
		outages                    int
	}
	tests := []struct {
		name     string
		sessions []Session
		changes  []MonitorChange
		from, to float64
		want     want
	}{
		{
			name: "nothing recorded is no data",
			from: 0, to: 60,
			want: want{noData: 60},
		},
		{
			name:     "unknown is no data, not up",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []MonitorChange{mch(1, 0, monitor.StatusUnknown), mch(1, 20, monitor.StatusUp)},
			from:     0, to: 60,
			want: want{up: 40, noData: 20, percent: pct(100)},
		},
		{
			name:     "down is an outage",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(100)}},
			changes: []MonitorChange{mch(1, 0, monitor.StatusUp), mch(1, 30, monitor.StatusDown, "a", "b"),
				mch(1, 40, monitor.StatusUp), mch(1, 70, monitor.StatusDown, "a", "b"), mch(1, 75, monitor.StatusUp)},
			from: 0, to: 100,
			want: want{up: 85, down: 15, percent: pct(85), outages: 2},
		},
		{
			name:     "degraded and warning count as up; degraded is listed apart",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(100)}},
			changes: []MonitorChange{mch(1, 0, monitor.StatusUp), mch(1, 10, monitor.StatusDegraded, "c"),
				mch(1, 30, monitor.StatusWarning), mch(1, 50, monitor.StatusUp)},
			from: 0, to: 100,
			want: want{up: 80, degraded: 20, percent: pct(100)},
		},
		{
			name: "a gap when this node did not run is no data, even while down",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(20)},
				{ID: 2, Start: tm(50), End: tm(100)}},
			changes: []MonitorChange{mch(1, 0, monitor.StatusUp), mch(1, 10, monitor.StatusDown, "a", "b"),
				mch(2, 50, monitor.StatusDown, "a", "b"), mch(2, 60, monitor.StatusUp)},
			from: 0, to: 100,
			want: want{up: 50, down: 20, noData: 30, percent: pct(50.0 * 100 / 70), outages: 2},
		},
		{
			name:     "an outage still going at the end of the range",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []MonitorChange{mch(1, 0, monitor.StatusUp), mch(1, 45, monitor.StatusDown, "a", "b")},
			from:     0, to: 60,
			want: want{up: 45, down: 15, percent: pct(75), outages: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := MonitorUptime(tc.sessions, tc.changes, tm(tc.from), tm(tc.to))
			got := want{up: u.UpMs / minMs, degraded: u.DegradedMs / minMs, down: u.DownMs / minMs,
				noData: u.NoDataMs / minMs, percent: u.Percent, outages: len(u.Outages)}
			if got.percent != nil && tc.want.percent != nil && abs(*got.percent-*tc.want.percent) < 1e-9 {
				got.percent = tc.want.percent
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MonitorUptime = up %d, degraded %d, down %d, no data %d min, %v%%, %d outages; want %+v (percent %v)",
					got.up, got.degraded, got.down, got.noData, deref(got.percent), got.outages, tc.want, deref(tc.want.percent))
			}
		})
	}
}

func TestMonitorOutageDurations(t *testing.T) {
	ss := []Session{{ID: 1, Start: tm(0), End: tm(60)}}
	cs := []MonitorChange{mch(1, 0, monitor.StatusUp), mch(1, 12, monitor.StatusDown, "a", "b"), mch(1, 19.5, monitor.StatusUp)}
	u := MonitorUptime(ss, cs, tm(0), tm(60))
	want := []Outage{{Start: tm(12), End: tm(19.5), DurationMs: int64(7.5 * float64(minMs))}}
	if !reflect.DeepEqual(u.Outages, want) {
		t.Errorf("MonitorUptime outages = %+v; want %+v", u.Outages, want)
	}
}

func TestStoreMonitorRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	node := NodeSubject("prod", "shop") // a node called like the monitor
	vs := VantageSubject("prod", "shop", "a")
	b := &Batch{
		Sessions: []Session{{ID: 7, Start: tm(0), End: tm(5)}},
		Changes:  []Change{{Subject: node, Session: 7, Time: tm(1), From: "unknown", To: "online"}},
		Monitors: []MonitorChange{
			{Network: "prod", Monitor: "shop", Session: 7, Time: tm(1), From: "unknown", To: "up", Live: 3},
			{Network: "prod", Monitor: "shop", Session: 7, Time: tm(2), From: "up", To: "degraded", Live: 3,
				Failing: []string{"c"}},
			{Network: "prod", Monitor: "api", Session: 7, Time: tm(2), From: "down", To: "down", Live: 2,
				Failing: []string{"a", "b"}},
		},
		Minutes: []RTTSample{
			{Subject: vs, Rollup: Rollup{Start: tm(1), Min: 10, Mean: 15, Max: 20, Count: 2}},
			{Subject: vs, Rollup: Rollup{Start: tm(2), Min: 30, Mean: 30, Max: 30, Count: 1}},
		},
	}
	if err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	got, err := s.MonitorChanges("prod", "shop")
	if err != nil || !reflect.DeepEqual(got, b.Monitors[:2]) {
		t.Errorf("MonitorChanges(prod, shop) = %+v, %v; want %+v", got, err, b.Monitors[:2])
	}
	if got, err := s.MonitorChanges("prod", "api"); err != nil || len(got) != 1 || !slices.Equal(got[0].Failing, []string{"a", "b"}) {
		t.Errorf("MonitorChanges(prod, api) = %+v, %v; want the down verdict failing from a and b", got, err)
	}
	if got, err := s.MonitorChanges("other", "shop"); err != nil || len(got) != 0 {
		t.Errorf("MonitorChanges(other, shop) = %+v, %v; want none", got, err)
	}
	// The node of the same name keeps its own changes, and the nodes'
	// history does not list monitors.
	if cs, err := s.Changes(node); err != nil || len(cs) != 1 || cs[0].To != "online" {
		t.Errorf("Changes(node shop) = %+v, %v; want only the node's change", cs, err)
	}
	if subs, err := s.Subjects("prod"); err != nil || !reflect.DeepEqual(subs, []Subject{node}) {
		t.Errorf("Subjects(prod) = %+v, %v; want only node shop", subs, err)
	}
	mins, err := s.RTT(vs, Minute, tm(0), tm(5))
	if err != nil || len(mins) != 2 || mins[0].Mean != 15 || mins[1].Max != 30 {
		t.Errorf("RTT(vantage, minute) = %+v, %v; want the two minutes", mins, err)
	}
	hours, err := s.RTT(vs, Hour, tm(0).Truncate(time.Hour), tm(60))
	if err != nil || len(hours) != 1 || hours[0].Count != 3 || hours[0].Min != 10 || hours[0].Max != 30 {
		t.Errorf("RTT(vantage, hour) = %+v, %v; want one hour of 3 results from 10 to 30 ms", hours, err)
	}

	// Monitor records are pruned with the changes' and rollups' retention.
	if _, err := s.Prune(tm(0).Add(100*24*time.Hour), Retention{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MonitorChanges("prod", "shop"); len(got) != 0 {
		t.Errorf("MonitorChanges after 100 days = %+v; want pruned", got)
	}
	if mins, _ := s.RTT(vs, Minute, tm(0), tm(5)); len(mins) != 0 {
		t.Errorf("minute RTT after 100 days = %+v; want pruned", mins)
	}
}

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
	store, _ := openTemp(t)
	clock := &testClock{wall: tm(0).Add(10 * time.Second)}
	events := health.NewEventLog(100, clock.Now)
	view := &testView{}
	view.set(health.StatusOnline, "up")
	rec, _ := startRecorder(t, RecorderConfig{Store: store, Events: events, View: view.get, Now: clock.Now,
		Elapsed: clock.Elapsed, Session: 1})
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
	store, _ := openTemp(t)
	clock := &testClock{wall: tm(0)}
	events := health.NewEventLog(100, clock.Now)
	view := &testView{}
	view.set(health.StatusOnline, "up")
	rec, _ := startRecorder(t, RecorderConfig{Store: store, Events: events, View: view.get, Now: clock.Now,
		Elapsed: clock.Elapsed, Session: 1})
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
	store, _ := openTemp(t)
	clock := &testClock{wall: tm(0).Add(10 * time.Second)}
	events := health.NewEventLog(100, clock.Now)
	view := &testView{}
	view.set(health.StatusOnline, "up")
	src := &monitorSource{}
	rec, _ := startRecorder(t, RecorderConfig{Store: store, Events: events, View: view.get, Monitors: src.get,
		Now: clock.Now, Elapsed: clock.Elapsed, Session: 1})
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
