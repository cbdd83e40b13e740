package notify

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

func TestHeld(t *testing.T) {
	start := t0
	ms := func(n int) time.Time { return start.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name     string
		end, now time.Time
		hold     time.Duration
		want     bool
	}{
		{"ongoing, not yet", time.Time{}, ms(2999), 3 * time.Second, false},
		{"ongoing, exactly the hold", time.Time{}, ms(3000), 3 * time.Second, true},
		{"ended short, checked much later", ms(2100), ms(60000), 3 * time.Second, false},
		{"ended after the hold", ms(3200), ms(4000), 3 * time.Second, true},
		{"no hold", time.Time{}, start, 0, true},
		{"end before start", ms(-1), ms(5000), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Held(start, tt.end, tt.now, tt.hold); got != tt.want {
				t.Errorf("Held(start, %v, %v, %v) = %v; want %v", tt.end.Sub(start), tt.now.Sub(start), tt.hold, got, tt.want)
			}
		})
	}
}

func TestAgreed(t *testing.T) {
	on, deg, off, left := health.StatusOnline, health.StatusDegraded, health.StatusOffline, health.StatusLeft
	tests := []struct {
		status     health.Status
		live, susp int
		want       bool
		why        Reason
	}{
		{on, 1, 0, false, ReasonUnconfirmed},
		{off, 1, 1, false, ReasonUnconfirmed},
		{on, 3, 0, true, ""},
		{on, 3, 1, true, ""},
		{deg, 4, 1, false, ReasonSingleObserver},
		{deg, 4, 2, true, ""},
		{off, 2, 1, false, ReasonSingleObserver},
		{off, 2, 2, true, ""},
		{off, 3, 2, true, ""},
		{off, 4, 2, false, ReasonUnconfirmed},
		{off, 5, 3, true, ""},
		{left, 3, 0, true, ""},
	}
	for _, tt := range tests {
		ok, why := Agreed(tt.status, tt.live, tt.susp)
		if ok != tt.want || why != tt.why {
			t.Errorf("Agreed(%s, %d live, %d suspecting) = %v, %q; want %v, %q", tt.status, tt.live, tt.susp, ok, why, tt.want, tt.why)
		}
	}
}

func TestLocalReady(t *testing.T) {
	tests := []struct {
		name  string
		local health.LocalHealth
		now   time.Time
		want  bool
	}{
		{"not reported", health.LocalHealth{}, t0, true},
		{"recovering", health.LocalHealth{Healthy: false, Reason: "paused", Since: t0}, t0.Add(time.Hour), false},
		{"healthy again, not re-synced", health.LocalHealth{Healthy: true, Since: t0}, t0.Add(2 * time.Second), false},
		{"healthy and re-synced", health.LocalHealth{Healthy: true, Since: t0}, t0.Add(3 * time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LocalReady(tt.local, tt.now, 3*time.Second); got != tt.want {
				t.Errorf("LocalReady(%+v, +%v, 3s) = %v; want %v", tt.local, tt.now.Sub(t0), got, tt.want)
			}
		})
	}
}

func TestEligible(t *testing.T) {
	const hold = 3 * time.Second
	off := alertAt("x", KindOffline, t0)
	single := off
	single.Kind, single.Live, single.Suspecting = KindDegraded, 4, 1
	alone := off
	alone.Live, alone.Suspecting = 1, 1
	healthy := health.LocalHealth{Healthy: true, Since: t0.Add(-time.Hour)}
	tests := []struct {
		name   string
		alert  Alert
		sender string
		local  health.LocalHealth
		now    time.Time
		late   time.Duration
		want   Eligibility
	}{
		{"leader, fresh, healthy", off, "self", healthy, t0.Add(hold), 0, Eligibility{Send: true}},
		{"local health not reported", off, "self", health.LocalHealth{}, t0.Add(hold), 0, Eligibility{Send: true}},
		{"another member sends", off, "other", healthy, t0.Add(hold), 0, Eligibility{}},
		{"cluster waiting", off, "", healthy, t0.Add(hold), 0, Eligibility{}},
		{"one observer's word", single, "self", healthy, t0.Add(hold), 0,
			Eligibility{Reason: ReasonSingleObserver, Final: true}},
		{"unconfirmed", alone, "self", healthy, t0.Add(hold), 0,
			Eligibility{Reason: ReasonUnconfirmed, Final: true}},
		{"sender recovering from a pause", off, "self", health.LocalHealth{Reason: "paused", Since: t0}, t0.Add(hold), 0,
			Eligibility{Reason: ReasonLocalUnhealthy}},
		{"sender healthy again, re-syncing", off, "self", health.LocalHealth{Healthy: true, Since: t0.Add(hold)}, t0.Add(hold + time.Second), 0,
			Eligibility{Reason: ReasonLocalUnhealthy}},
		{"at the default late bound", off, "self", healthy, t0.Add(LateAfter(hold)), 0, Eligibility{Send: true}},
		{"past the default late bound", off, "self", healthy, t0.Add(LateAfter(hold) + time.Millisecond), 0,
			Eligibility{Reason: ReasonLate, Final: true}},
		{"late, even for a follower", off, "other", healthy, t0.Add(55 * time.Second), 0,
			Eligibility{Reason: ReasonLate, Final: true}},
		{"custom late bound", off, "self", healthy, t0.Add(11 * time.Second), 10 * time.Second,
			Eligibility{Reason: ReasonLate, Final: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Eligible(EligibilityInput{Alert: tt.alert, Self: "self", Sender: tt.sender, Local: tt.local,
				Now: tt.now, Hold: hold, LateAfter: tt.late})
			if got != tt.want {
				t.Errorf("Eligible = %+v; want %+v", got, tt.want)
			}
		})
	}
	if got, want := LateAfter(hold), 36*time.Second; got != want {
		t.Errorf("LateAfter(3s) = %v; want %v", got, want)
	}
}

// Two degraded spells, 2.1 s and 1.1 s, with 47 ms of online between them,
// seen view by view with a tick every 200 ms: neither lasted the 3 s hold,
// so no alert, and both are counted as not held. Sampling every 200 ms
// (round 1) merged them into one 3.25 s spell and alerted.
func TestTrackerShortSpellsDoNotMerge(t *testing.T) {
	tr := NewTracker("net", "self")
	tr.SetHold(3*time.Second, 15*time.Second)
	snap := func(s health.Status) Snapshot {
		susp := map[health.Status]int{health.StatusDegraded: 2}[s]
		return Snapshot{Verdicts: map[string]health.Verdict{"x": {Status: s, Confirmed: true, Live: 5, Suspecting: susp}}}
	}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	views := []struct {
		at     int
		status health.Status
	}{
		{0, health.StatusOnline},
		{10000, health.StatusDegraded},
		{12100, health.StatusOnline},
		{12147, health.StatusDegraded},
		{13247, health.StatusOnline},
	}
	var got []Alert
	next := 0
	for now := 0; now <= 30000; now += 200 {
		for next < len(views) && views[next].at <= now {
			got = append(got, tr.Observe(snap(views[next].status), ms(views[next].at))...)
			next++
		}
		got = append(got, tr.Tick(ms(now))...)
	}
	if len(got) != 0 {
		t.Fatalf("alerts %+v; want none: each spell was shorter than the hold", got)
	}
	if n := tr.Suppressed()[ReasonNotHeld]; n != 2 {
		t.Errorf("Suppressed()[not_held] = %d; want 2", n)
	}
	// A third spell that lasts is reported, with its own start as At.
	got = append(got, tr.Observe(snap(health.StatusDegraded), ms(40000))...)
	got = append(got, tr.Tick(ms(42999))...)
	if len(got) != 0 {
		t.Fatalf("alert before the hold: %+v", got)
	}
	got = append(got, tr.Tick(ms(43000))...)
	if len(got) != 1 || got[0].Kind != KindDegraded || !got[0].At.Equal(ms(40000)) {
		t.Fatalf("alerts %+v; want one degraded alert at its start", got)
	}
}

// A status that lasted the hold and ended between two ticks is still taken
// in, when the view that ends it arrives.
func TestTrackerHeldUntilTheNextView(t *testing.T) {
	tr := NewTracker("net", "self")
	tr.SetHold(time.Second, 5*time.Second)
	snap := func(s health.Status, susp int) Snapshot {
		return Snapshot{Verdicts: map[string]health.Verdict{"x": {Status: s, Confirmed: true, Live: 3, Suspecting: susp}}}
	}
	tr.Observe(snap(health.StatusOnline, 0), t0)
	tr.Tick(t0.Add(time.Second))
	tr.Observe(snap(health.StatusOffline, 3), t0.Add(2*time.Second))
	got := tr.Observe(snap(health.StatusOffline, 3), t0.Add(3050*time.Millisecond))
	if len(got) != 1 || got[0].Kind != KindOffline || !got[0].At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("alerts %+v; want offline at its start", got)
	}
}

// A member that only one observer suspects is that observer's opinion: it
// stays online for alerts however long it lasts, and is counted.
func TestTrackerSingleObserver(t *testing.T) {
	tr := NewTracker("net", "self")
	tr.SetHold(time.Second, 5*time.Second)
	deg1 := Snapshot{Verdicts: map[string]health.Verdict{"x": {Status: health.StatusDegraded, Confirmed: true, Live: 4, Suspecting: 1}}}
	on := Snapshot{Verdicts: map[string]health.Verdict{"x": {Status: health.StatusOnline, Confirmed: true, Live: 4}}}
	var got []Alert
	got = append(got, tr.Observe(on, t0)...)
	got = append(got, tr.Tick(t0.Add(2*time.Second))...)
	got = append(got, tr.Observe(deg1, t0.Add(3*time.Second))...)
	got = append(got, tr.Tick(t0.Add(time.Minute))...)
	got = append(got, tr.Observe(on, t0.Add(2*time.Minute))...)
	got = append(got, tr.Tick(t0.Add(3*time.Minute))...)
	if len(got) != 0 {
		t.Fatalf("alerts %+v; want none", got)
	}
	if n := tr.Suppressed()[ReasonSingleObserver]; n != 1 {
		t.Errorf("Suppressed()[single_observer] = %d; want 1", n)
	}
}

func TestPlanDispatch(t *testing.T) {
	const hold = 3 * time.Second
	el := ElectionResult{Leader: "a", Live: []string{"a", "b"}}
	fresh := alertAt("x", KindOffline, t0)
	old := alertAt("y", KindOffline, t0.Add(-time.Minute))
	single := alertAt("z", KindDegraded, t0)
	single.Suspecting = 1
	in := func(self string, local health.LocalHealth) PlanInput {
		return PlanInput{
			Dispatch: DispatchInput{Self: self, Election: el, Pending: []Alert{old, fresh, single}},
			Now:      t0.Add(hold), Hold: hold, Local: local,
		}
	}
	ids := func(as []Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	res := PlanDispatch(in("a", health.LocalHealth{}))
	if got := ids(res.Send); len(got) != 1 || got[0] != fresh.ID {
		t.Errorf("leader sends %v; want only %s", got, fresh.ID)
	}
	if len(res.Dropped) != 2 || res.Dropped[0].Reason != ReasonLate || res.Dropped[1].Reason != ReasonSingleObserver {
		t.Errorf("dropped %+v; want y late and z single observer", res.Dropped)
	}
	res = PlanDispatch(in("b", health.LocalHealth{}))
	if len(res.Send) != 0 || len(res.Dropped) != 2 {
		t.Errorf("follower: send %v, dropped %v; want nothing sent, the same two dropped", ids(res.Send), res.Dropped)
	}
	res = PlanDispatch(in("a", health.LocalHealth{Reason: "paused", Since: t0}))
	if len(res.Send) != 0 || len(res.Deferred) != 1 || res.Deferred[0].ID != fresh.ID {
		t.Errorf("paused leader: send %v, deferred %v; want %s deferred", ids(res.Send), ids(res.Deferred), fresh.ID)
	}
}
