//go:build linux

package chaos

import (
	"testing"
	"time"
)

// TestJudge checks the harness's verdict on recorded transitions, events
// and alerts, without any node: a harness that passes everything would
// make every scenario pass.
func TestJudge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tr := func(obs, member, from, to string, s float64) transition {
		return transition{Observer: obs, Member: member, From: from, To: to, At: at(s), Prev: at(s - 0.15)}
	}
	ev := func(obs, member, from, to string, s float64) seenEvent {
		return seenEvent{Observer: obs, event: event{Kind: "status", Node: member, From: from, To: to, Time: at(s)}}
	}
	al := func(id, member, kind string, s, began float64) alertRec {
		return alertRec{ID: id, Node: member, Kind: kind, At: at(s), Began: at(began), SentBy: "a"}
	}
	aboutB := func(a alertRec) bool { return a.Node == "b" }
	// The window is [10 s, 40 s]; b is the member that was really down.
	type want struct{ transitions, events, alerts, dups, repeats, late int }
	for _, tc := range []struct {
		name        string
		transitions []transition
		events      []seenEvent
		alerts      []alertRec
		ok          allow
		alertsOK    func(alertRec) bool
		want        want
	}{
		{name: "nothing happened", ok: only("b")},
		{
			name: "the stopped member goes offline at the others and comes back",
			transitions: []transition{
				tr("a", "b", "online", "offline", 14), tr("a", "b", "offline", "online", 22),
				tr("c", "b", "online", "degraded", 13), tr("c", "b", "degraded", "offline", 14),
			},
			events:   []seenEvent{ev("a", "b", "online", "offline", 14), ev("a", "b", "offline", "online", 22)},
			alerts:   []alertRec{al("x1", "b", "offline", 17, 14), al("x2", "b", "online", 25, 22)},
			ok:       only("b"),
			alertsOK: aboutB,
		},
		{
			name: "the resumed member shows the others offline",
			transitions: []transition{
				tr("b", "a", "online", "offline", 20), tr("b", "c", "online", "offline", 20),
				tr("b", "b", "online", "online", 20), // itself: never judged
			},
			events: []seenEvent{ev("b", "a", "online", "offline", 20)},
			ok:     only("b"),
			want:   want{transitions: 2, events: 1},
		},
		{
			name:        "a healthy member degraded for a moment at one observer",
			transitions: []transition{tr("c", "a", "online", "degraded", 20), tr("c", "a", "degraded", "online", 20.2)},
			events:      []seenEvent{ev("c", "a", "online", "degraded", 20), ev("c", "a", "degraded", "online", 20.2)},
			ok:          only("b"),
			want:        want{transitions: 1, events: 1},
		},
		{
			name:        "not online when the window opens counts; changes outside it do not",
			transitions: []transition{tr("a", "c", "online", "offline", 5), tr("a", "d", "online", "offline", 45)},
			events:      []seenEvent{ev("a", "d", "online", "offline", 45)},
			ok:          nobody,
			want:        want{transitions: 1},
		},
		{
			name:        "a healthy member back online at t1 is fine",
			transitions: []transition{tr("a", "c", "online", "offline", 5), tr("a", "c", "offline", "online", 8)},
			ok:          nobody,
		},
		{
			name:   "starvation: any alert is false",
			alerts: []alertRec{al("x1", "a", "offline", 20, 18)},
			ok:     nobody,
			want:   want{alerts: 1},
		},
		{
			name: "the same alert from two senders, and one node alerted twice",
			alerts: []alertRec{
				al("x1", "b", "offline", 17, 14), al("x1", "b", "offline", 17.1, 14),
				al("x3", "b", "offline", 30, 28),
			},
			ok: only("b"), alertsOK: aboutB,
			want: want{dups: 1, repeats: 1},
		},
		{
			name:   "an alert long after its change is not news",
			alerts: []alertRec{al("x1", "b", "offline", 39, 2)},
			ok:     only("b"), alertsOK: aboutB,
			want: want{late: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{c: &cluster{t: t}, transitions: tc.transitions, events: tc.events}
			s := &sink{t: t, alerts: tc.alerts}
			f := r.judge(s, verdict{from: at(10), to: at(40), ok: tc.ok, alertsOK: tc.alertsOK})
			got := want{len(f.transitions), len(f.events), len(f.alerts), len(f.dups), len(f.repeats), len(f.late)}
			if got != tc.want {
				t.Errorf("judge = %+v; want %+v\n%s", got, tc.want, f.describe(10))
			}
			if f.bad() != (tc.want != want{}) {
				t.Errorf("bad() = %t; want %t", f.bad(), tc.want != want{})
			}
		})
	}
}
