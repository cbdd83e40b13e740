package history

import (
	"reflect"
	"testing"
	"time"
)

// tm is minute m after a fixed base.
func tm(m float64) time.Time {
	return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(m * float64(time.Minute)))
}

func ch(session uint64, m float64, to string) Change {
	return Change{Subject: NodeSubject("n", "a"), Session: session, Time: tm(m), To: to}
}

func pct(p float64) *float64 { return &p }

const minMs = int64(time.Minute / time.Millisecond)

func TestCompute(t *testing.T) {
	type want struct {
		up, degraded, down, left, noData int64 // minutes
		percent                          *float64
		outages                          []Outage
	}
	tests := []struct {
		name     string
		sessions []Session
		changes  []Change
		from, to float64
		classify func(string) State
		want     want
	}{
		{
			name: "nothing recorded is no data, not up",
			from: 0, to: 60,
			want: want{noData: 60},
		},
		{
			name:     "up the whole range",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online")},
			from:     0, to: 60,
			want: want{up: 60, percent: pct(100)},
		},
		{
			name:     "a session starts with no data until its first change",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 10, "online")},
			from:     0, to: 60,
			want: want{up: 50, noData: 10, percent: pct(100)},
		},
		{
			name:     "flaps",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(100)}},
			changes: []Change{ch(1, 0, "online"), ch(1, 10, "offline"), ch(1, 15, "online"),
				ch(1, 50, "offline"), ch(1, 55, "degraded")},
			from: 0, to: 100,
			want: want{up: 45, degraded: 45, down: 10, percent: pct(90), outages: []Outage{
				{Start: tm(10), End: tm(15), DurationMs: 5 * minMs},
				{Start: tm(50), End: tm(55), DurationMs: 5 * minMs},
			}},
		},
		{
			name:     "time this node was not running is a gap, whatever the last status",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(30)}, {ID: 2, Start: tm(60), End: tm(90)}},
			changes:  []Change{ch(1, 0, "online"), ch(2, 61, "online")},
			from:     0, to: 90,
			want: want{up: 59, noData: 31, percent: pct(100)},
		},
		{
			name:     "range starting mid-outage",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(100)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 20, "offline"), ch(1, 40, "online")},
			from:     30, to: 100,
			want: want{up: 60, down: 10, percent: pct(600.0 / 7), outages: []Outage{
				{Start: tm(30), End: tm(40), DurationMs: 10 * minMs, StartedBefore: true},
			}},
		},
		{
			name:     "ongoing outage at the end of the range",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 45, "offline")},
			from:     0, to: 60,
			want: want{up: 45, down: 15, percent: pct(75), outages: []Outage{
				{Start: tm(45), End: tm(60), DurationMs: 15 * minMs, Ongoing: true},
			}},
		},
		{
			name:     "an outage this node stopped watching has an unknown end",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(20)}, {ID: 2, Start: tm(50), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 10, "offline"), ch(2, 50, "online")},
			from:     0, to: 60,
			want: want{up: 20, down: 10, noData: 30, percent: pct(200.0 / 3), outages: []Outage{
				{Start: tm(10), End: tm(20), DurationMs: 10 * minMs, EndUnknown: true},
			}},
		},
		{
			name:     "left counts neither way",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 30, "left")},
			from:     0, to: 60,
			want: want{up: 30, left: 30, percent: pct(100)},
		},
		{
			name:     "only left and unknown: no percent",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 0, "unknown"), ch(1, 30, "left")},
			from:     0, to: 60,
			want: want{left: 30, noData: 30},
		},
		{
			name: "clock stepped back between sessions: no time counted twice",
			// Session 2 claims to start at minute 20, before session 1 ended at 30.
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(30)}, {ID: 2, Start: tm(20), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online"), ch(2, 21, "offline")},
			from:     0, to: 60,
			want: want{up: 30, down: 30, percent: pct(50), outages: []Outage{
				{Start: tm(30), End: tm(60), DurationMs: 30 * minMs, Ongoing: true},
			}},
		},
		{
			name:     "clock stepped back within a session: time never runs backwards",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(60)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 40, "offline"), ch(1, 35, "online")},
			from:     0, to: 60,
			want: want{up: 60, percent: pct(100)},
		},
		{
			name:     "clock stepped forward: the recorder split the session, the jump is a gap",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(10)}, {ID: 2, Start: tm(70), End: tm(80)}},
			changes:  []Change{ch(1, 0, "online"), ch(2, 70, "online")},
			from:     0, to: 80,
			want: want{up: 20, noData: 60, percent: pct(100)},
		},
		{
			name:     "range entirely before any session",
			sessions: []Session{{ID: 1, Start: tm(100), End: tm(200)}},
			changes:  []Change{ch(1, 100, "online")},
			from:     0, to: 50,
			want: want{noData: 50},
		},
		{
			name:     "change after the session's end is clamped to it",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(30)}},
			changes:  []Change{ch(1, 0, "online"), ch(1, 45, "offline")},
			from:     0, to: 60,
			want: want{up: 30, noData: 30, percent: pct(100)},
		},
		{
			name:     "link states",
			sessions: []Session{{ID: 1, Start: tm(0), End: tm(40)}},
			changes:  []Change{ch(1, 0, "up"), ch(1, 10, "down"), ch(1, 20, "unknown"), ch(1, 30, "up")},
			from:     0, to: 40,
			classify: ClassifyLink,
			want: want{up: 20, down: 10, noData: 10, percent: pct(200.0 / 3), outages: []Outage{
				{Start: tm(10), End: tm(20), DurationMs: 10 * minMs, EndUnknown: true},
			}},
		},
		{
			name: "empty range",
			from: 10, to: 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			classify := tc.classify
			if classify == nil {
				classify = ClassifyNode
			}
			u := Compute(tc.sessions, tc.changes, tm(tc.from), tm(tc.to), classify)
			got := want{up: u.UpMs / minMs, degraded: u.DegradedMs / minMs, down: u.DownMs / minMs,
				left: u.LeftMs / minMs, noData: u.NoDataMs / minMs, percent: u.Percent, outages: u.Outages}
			if len(got.outages) == 0 {
				got.outages = nil
			}
			if got.percent != nil && tc.want.percent != nil && abs(*got.percent-*tc.want.percent) < 1e-9 {
				got.percent = tc.want.percent
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Compute = %+v (percent %v); want %+v (percent %v)", got, deref(got.percent), tc.want, deref(tc.want.percent))
			}
			var total int64
			for i, s := range u.Segments {
				total += s.End.Sub(s.Start).Milliseconds()
				if i > 0 && !u.Segments[i-1].End.Equal(s.Start) {
					t.Errorf("segment %d starts at %v, previous ended at %v", i, s.Start, u.Segments[i-1].End)
				}
			}
			if want := tm(tc.to).Sub(tm(tc.from)).Milliseconds(); total != want {
				t.Errorf("segments cover %d ms; want the whole range, %d ms", total, want)
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
