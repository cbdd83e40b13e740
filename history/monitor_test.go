package history

import (
	"reflect"
	"slices"
	"testing"
	"time"

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
