package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// A node that passes through degraded as it returns is reported as back
// from its offline outage, and the outage's start is kept.
func TestTransitionsOutageThroughSteps(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	known := map[string]Known{"a": {Status: health.StatusOnline}}
	step := func(at time.Time, s health.Status, suspecting int) []Alert {
		alerts, next := Transitions(TransitionInput{
			Network: "net", Prev: known, Now: at,
			Verdicts: map[string]health.Verdict{"a": {Status: s, Confirmed: true, Live: 3, Suspecting: suspecting}},
		})
		known = next
		return alerts
	}
	step(start, health.StatusDegraded, 1)
	step(start.Add(time.Second), health.StatusOffline, 3)
	if a := step(start.Add(time.Minute), health.StatusDegraded, 1); len(a) != 1 || a[0].Kind != KindDegraded {
		t.Fatalf("offline → degraded = %+v; want one degraded alert", a)
	}
	a := step(start.Add(time.Minute+time.Second), health.StatusOnline, 0)
	if len(a) != 1 {
		t.Fatalf("degraded → online = %+v; want one alert", a)
	}
	if a[0].Kind != KindOnline || a[0].From != health.StatusOffline ||
		!a[0].Since.Equal(start.Add(time.Second)) || !a[0].Until.Equal(start.Add(time.Minute+time.Second)) {
		t.Errorf("online alert = %+v; want from offline since %v", a[0], start.Add(time.Second))
	}
	if known["a"].Outage != nil {
		t.Errorf("online node keeps an outage: %+v", known["a"].Outage)
	}
	// A plain degraded episode is still reported as such.
	step(start.Add(2*time.Minute), health.StatusDegraded, 1)
	a = step(start.Add(3*time.Minute), health.StatusOnline, 0)
	if len(a) != 1 || a[0].From != health.StatusDegraded || !a[0].Since.Equal(start.Add(2*time.Minute)) {
		t.Errorf("online after degraded = %+v; want from degraded since %v", a, start.Add(2*time.Minute))
	}
}

func TestLedgerSupersede(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(node string, kind Kind, at time.Time) Alert {
		return Alert{ID: AlertID("net", node, kind, 1, at), Network: "net", Node: node, Kind: kind, At: at}
	}
	degX := mk("x", KindDegraded, now)
	offX := mk("x", KindOffline, now.Add(time.Second))
	onX := mk("x", KindOnline, now.Add(time.Minute))
	degY := mk("y", KindDegraded, now)
	l := NewLedger(0)
	l.Add(now, degX, offX, onX, degY)
	if got := l.Supersede(); len(got) != 0 {
		t.Errorf("Supersede with nothing delivered = %v", got)
	}
	l.MarkDelivered(now, offX.ID)
	if got := l.Supersede(); !slices.Equal(got, []string{degX.ID}) {
		t.Errorf("Supersede = %v; want %v", got, []string{degX.ID})
	}
	var pending []string
	for _, a := range l.Pending() {
		pending = append(pending, a.ID)
	}
	if want := []string{degY.ID, onX.ID}; !slices.Equal(pending, want) {
		t.Errorf("pending = %v; want %v (later alerts and other nodes stay)", pending, want)
	}
}

// With a hold, statuses that do not last raise no alert, and a
// transition's steps within the hold become one alert.
func TestTrackerHold(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := NewTracker("net", "self")
	tr.SetHold(time.Second, 5*time.Second)
	v := func(s health.Status) Snapshot {
		susp := map[health.Status]int{health.StatusOnline: 0, health.StatusDegraded: 2, health.StatusOffline: 4}[s]
		return Snapshot{Verdicts: map[string]health.Verdict{"x": {Status: s, Confirmed: true, Live: 5, Suspecting: susp}}}
	}
	var got []Alert
	step := func(ms int, s health.Status) {
		got = append(got, tr.Observe(v(s), start.Add(time.Duration(ms)*time.Millisecond))...)
	}
	// Start-up: degraded for a moment, then online; learnt as online.
	step(0, health.StatusDegraded)
	step(200, health.StatusOnline)
	step(1300, health.StatusOnline)
	if k := tr.Known()["x"]; k.Status != health.StatusOnline || len(got) != 0 {
		t.Fatalf("after start-up: known %+v, alerts %+v; want online learnt silently", k, got)
	}
	// A blip.
	step(2000, health.StatusDegraded)
	step(2500, health.StatusOnline)
	step(4000, health.StatusOnline)
	if len(got) != 0 {
		t.Fatalf("blip raised %+v", got)
	}
	step(5000, health.StatusDegraded)
	if v := tr.Verdicts()["x"]; v.Status != health.StatusOnline {
		t.Errorf("Verdicts()[x] = %s during a change within the hold; want the held online", v.Status)
	}
	// A death in two steps: one offline alert, once the hold has passed.
	step(5000, health.StatusDegraded)
	step(5100, health.StatusOffline)
	step(5900, health.StatusOffline)
	if len(got) != 0 {
		t.Fatalf("alert before the hold passed: %+v", got)
	}
	step(6100, health.StatusOffline)
	if len(got) != 1 || got[0].Kind != KindOffline || got[0].From != health.StatusOnline {
		t.Fatalf("alerts = %+v; want one offline from online", got)
	}
	// Coming back through degraded for a few seconds: one online alert.
	got = nil
	step(10000, health.StatusDegraded)
	step(13000, health.StatusDegraded)
	step(13500, health.StatusOnline)
	step(14600, health.StatusOnline)
	if len(got) != 1 || got[0].Kind != KindOnline || got[0].From != health.StatusOffline {
		t.Fatalf("return = %+v; want one online alert from offline", got)
	}
	// Staying partly unreachable after an outage is reported, later.
	got = nil
	step(20000, health.StatusOffline)
	step(21100, health.StatusOffline)
	step(22000, health.StatusDegraded)
	step(26000, health.StatusDegraded)
	if len(got) != 1 || got[0].Kind != KindOffline {
		t.Fatalf("alerts = %+v; want the offline one only so far", got)
	}
	step(27000, health.StatusDegraded)
	if len(got) != 2 || got[1].Kind != KindDegraded {
		t.Fatalf("alerts = %+v; want degraded after the recovery hold", got)
	}
}
