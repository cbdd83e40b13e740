package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC) // 10 s into a 30 s bucket

func verdict(s health.Status, confirmed bool, live, suspecting int) health.Verdict {
	return health.Verdict{Status: s, Confirmed: confirmed, Live: live, Suspecting: suspecting}
}

func TestTransitions(t *testing.T) {
	on, off, deg, left := health.StatusOnline, health.StatusOffline, health.StatusDegraded, health.StatusLeft
	outageStart := t0.Add(-5 * time.Minute)
	tests := []struct {
		name string
		prev map[string]Known
		cur  map[string]health.Verdict
		want []Alert // ID, Covers and Recent ignored; filled in below
		next map[string]Known
	}{
		{
			name: "first confirmed status is learnt silently",
			prev: nil,
			cur:  map[string]health.Verdict{"a": verdict(off, true, 3, 3), "b": verdict(on, true, 3, 0)},
			next: map[string]Known{"a": {Status: off}, "b": {Status: on}},
		},
		{
			name: "online to offline",
			prev: map[string]Known{"a": {Status: on}},
			cur:  map[string]health.Verdict{"a": verdict(off, true, 5, 4)},
			want: []Alert{{Node: "a", Kind: KindOffline, From: on, At: t0, Since: t0, Agreeing: 4, Live: 5, Suspecting: 4}},
			next: map[string]Known{"a": {Status: off, Since: t0}},
		},
		{
			name: "unconfirmed offline: no alert, nothing learnt",
			prev: map[string]Known{"a": {Status: on}},
			cur:  map[string]health.Verdict{"a": verdict(off, false, 1, 1)},
			next: map[string]Known{"a": {Status: on}},
		},
		{
			name: "back online: since and until give the outage",
			prev: map[string]Known{"a": {Status: off, Since: outageStart}},
			cur:  map[string]health.Verdict{"a": verdict(on, true, 5, 0)},
			want: []Alert{{Node: "a", Kind: KindOnline, From: off, At: t0, Since: outageStart, Until: t0, Agreeing: 5, Live: 5}},
			next: map[string]Known{"a": {Status: on, Since: t0}},
		},
		{
			name: "back online from an outage that began before we knew",
			prev: map[string]Known{"a": {Status: off}},
			cur:  map[string]health.Verdict{"a": verdict(on, true, 2, 0)},
			want: []Alert{{Node: "a", Kind: KindOnline, From: off, At: t0, Until: t0, Agreeing: 2, Live: 2}},
			next: map[string]Known{"a": {Status: on, Since: t0}},
		},
		{
			name: "degraded",
			prev: map[string]Known{"a": {Status: on}},
			cur:  map[string]health.Verdict{"a": verdict(deg, true, 5, 1)},
			want: []Alert{{Node: "a", Kind: KindDegraded, From: on, At: t0, Since: t0, Agreeing: 4, Live: 5, Suspecting: 1}},
			next: map[string]Known{"a": {Status: deg, Since: t0}},
		},
		{
			name: "left",
			prev: map[string]Known{"a": {Status: on}},
			cur:  map[string]health.Verdict{"a": verdict(left, true, 3, 0)},
			want: []Alert{{Node: "a", Kind: KindLeft, From: on, At: t0, Since: t0, Agreeing: 3, Live: 3}},
			next: map[string]Known{"a": {Status: left, Since: t0}},
		},
		{
			name: "unknown verdicts are ignored",
			prev: map[string]Known{"a": {Status: on}},
			cur:  map[string]health.Verdict{"a": {Status: health.StatusUnknown, Confirmed: true}},
			next: map[string]Known{"a": {Status: on}},
		},
		{
			name: "no change, no alert; several nodes sorted",
			prev: map[string]Known{"a": {Status: on}, "b": {Status: on}, "c": {Status: on}},
			cur: map[string]health.Verdict{
				"c": verdict(off, true, 3, 2), "a": verdict(off, true, 3, 3), "b": verdict(on, true, 3, 0),
			},
			want: []Alert{
				{Node: "a", Kind: KindOffline, From: on, At: t0, Since: t0, Agreeing: 3, Live: 3, Suspecting: 3},
				{Node: "c", Kind: KindOffline, From: on, At: t0, Since: t0, Agreeing: 2, Live: 3, Suspecting: 2},
			},
			next: map[string]Known{"a": {Status: off, Since: t0}, "b": {Status: on}, "c": {Status: off, Since: t0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := Transitions(TransitionInput{Network: "net", Prev: tt.prev, Verdicts: tt.cur, Now: t0})
			if len(got) != len(tt.want) {
				t.Fatalf("Transitions = %d alerts %+v; want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				w.Network = "net"
				w.ID = AlertID("net", w.Node, w.Kind, 0, t0)
				if g := got[i]; g.ID != w.ID || g.Node != w.Node || g.Kind != w.Kind || g.From != w.From ||
					!g.At.Equal(w.At) || !g.Since.Equal(w.Since) || !g.Until.Equal(w.Until) ||
					g.Agreeing != w.Agreeing || g.Live != w.Live || g.Suspecting != w.Suspecting || g.Network != w.Network {
					t.Errorf("Transitions[%d] = %+v; want %+v", i, g, w)
				}
			}
			if len(next) != len(tt.next) {
				t.Fatalf("next = %+v; want %+v", next, tt.next)
			}
			for n, w := range tt.next {
				if g := next[n]; g.Status != w.Status || !g.Since.Equal(w.Since) {
					t.Errorf("next[%s] = %+v; want %+v", n, g, w)
				}
			}
		})
	}
}

func TestAlertIDDeterministic(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) // a bucket border
	tests := []struct {
		name  string
		a, b  time.Time
		same  bool // same primary ID
		alias bool // b's ID is one of a's aliases
	}{
		{"same instant", base.Add(10 * time.Second), base.Add(10 * time.Second), true, true},
		{"skew within a bucket", base.Add(2 * time.Second), base.Add(9 * time.Second), true, true},
		{"skew across a border", base.Add(-800 * time.Millisecond), base.Add(400 * time.Millisecond), false, true},
		{"skew of 14 s across a border", base.Add(-7 * time.Second), base.Add(7 * time.Second), false, true},
		{"a minute apart", base.Add(5 * time.Second), base.Add(65 * time.Second), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ida := AlertID("net", "db-1", KindOffline, 7, tt.a)
			idb := AlertID("net", "db-1", KindOffline, 7, tt.b)
			if (ida == idb) != tt.same {
				t.Errorf("AlertID(%v) = %s, AlertID(%v) = %s; same = %v, want %v", tt.a, ida, tt.b, idb, ida == idb, tt.same)
			}
			a := Alert{ID: ida, Network: "net", Node: "db-1", Kind: KindOffline, Boot: 7, At: tt.a}
			if got := slices.Contains(a.Aliases(), idb); got != tt.alias {
				t.Errorf("Aliases(%v) = %v contains %s = %v; want %v", tt.a, a.Aliases(), idb, got, tt.alias)
			}
		})
	}
	// Every component matters.
	id := AlertID("net", "db-1", KindOffline, 7, base)
	for _, other := range []string{
		AlertID("net2", "db-1", KindOffline, 7, base), AlertID("net", "db-2", KindOffline, 7, base),
		AlertID("net", "db-1", KindOnline, 7, base), AlertID("net", "db-1", KindOffline, 8, base),
	} {
		if other == id {
			t.Errorf("AlertID collision: %s", id)
		}
	}
	if want := "net/db-1/offline/7/"; !strings.HasPrefix(id, want) {
		t.Errorf("AlertID = %s; want prefix %s", id, want)
	}
	if got := AlertID("a/b", "c", KindLeft, 0, base); strings.Count(got, "/") != 4 {
		t.Errorf("AlertID does not escape '/': %s", got)
	}
}

// Two members see the same transition a few seconds apart and derive the
// same ID (or an alias); a flapping node's repeated transition of one kind in
// one bucket gets a new ID on both.
func TestTransitionsFlapNumbering(t *testing.T) {
	run := func(start time.Time, step time.Duration) []string {
		known := map[string]Known{"a": {Status: health.StatusOnline}}
		var ids []string
		now := start
		for _, s := range []health.Status{health.StatusOffline, health.StatusOnline, health.StatusOffline, health.StatusOnline, health.StatusOffline} {
			var alerts []Alert
			alerts, known = Transitions(TransitionInput{
				Network: "n", Prev: known, Verdicts: map[string]health.Verdict{"a": verdict(s, true, 3, 0)}, Now: now,
			})
			for _, a := range alerts {
				ids = append(ids, a.ID)
			}
			now = now.Add(step)
		}
		return ids
	}
	bucketStart := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m1 := run(bucketStart.Add(1*time.Second), 4*time.Second)
	m2 := run(bucketStart.Add(1500*time.Millisecond), 4*time.Second)
	if !slices.Equal(m1, m2) {
		t.Errorf("members number the flap differently:\n%v\n%v", m1, m2)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(m1)))) != len(m1) {
		t.Errorf("flap IDs collide: %v", m1)
	}
	if !strings.HasSuffix(m1[2], "~2") || !strings.HasSuffix(m1[4], "~3") {
		t.Errorf("repeated offline IDs = %s, %s; want ~2, ~3 suffixes", m1[2], m1[4])
	}
}

func TestTracker(t *testing.T) {
	tr := NewTracker("net", "self")
	on := func(rtt time.Duration) Snapshot {
		return Snapshot{
			Verdicts: map[string]health.Verdict{"a": verdict(health.StatusOnline, true, 3, 0)},
			Boots:    map[string]uint64{"a": 42},
			RTTs:     map[string]time.Duration{"a": rtt},
		}
	}
	off := Snapshot{
		Verdicts: map[string]health.Verdict{"a": verdict(health.StatusOffline, true, 3, 3)},
		Boots:    map[string]uint64{"a": 42},
	}
	lonely := Snapshot{Verdicts: map[string]health.Verdict{"a": verdict(health.StatusOnline, false, 1, 0)}}

	if got := tr.Observe(on(12*time.Millisecond), t0); len(got) != 0 {
		t.Fatalf("first Observe = %v; want no alert", got)
	}
	got := tr.Observe(off, t0.Add(time.Minute))
	if len(got) != 1 || got[0].Kind != KindOffline || got[0].LastRTT != 12*time.Millisecond || got[0].Boot != 42 {
		t.Fatalf("Observe(offline) = %+v; want one offline alert with the last RTT and boot", got)
	}
	// The cluster loses confirmation while the node comes back: nothing yet.
	if got := tr.Observe(lonely, t0.Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("Observe(unconfirmed) = %v; want none", got)
	}
	got = tr.Observe(on(0), t0.Add(3*time.Minute))
	if len(got) != 1 || got[0].Kind != KindOnline || !got[0].Since.Equal(t0.Add(time.Minute)) ||
		got[0].Duration() != 2*time.Minute {
		t.Fatalf("Observe(online) = %+v; want back online after 2m", got)
	}
	if k := tr.Known()["a"]; k.Status != health.StatusOnline {
		t.Errorf("Known()[a] = %+v; want online", k)
	}
}

func TestSnapshotFromView(t *testing.T) {
	nv := &health.NetworkView{Nodes: map[string]*health.NodeView{
		"a": {NodeID: "a", Status: health.StatusDegraded, Confirmed: true, BootID: 9, Observers: map[string]health.ObserverView{
			"x": {Opinion: "reachable", RTTMs: 10}, "y": {Opinion: "suspect"}, "z": {Opinion: "reachable", RTTMs: 30}, "w": {Opinion: "none"},
		}},
	}}
	s := SnapshotFromView(nv)
	v := s.Verdicts["a"]
	if v.Status != health.StatusDegraded || !v.Confirmed || v.Live != 3 || v.Suspecting != 1 || v.Agreeing() != 2 {
		t.Errorf("verdict = %+v; want degraded, confirmed, 3 live, 1 suspecting", v)
	}
	if s.Boots["a"] != 9 || s.RTTs["a"] != 30*time.Millisecond {
		t.Errorf("boot, rtt = %d, %v; want 9, 30ms (median of 10, 30)", s.Boots["a"], s.RTTs["a"])
	}
	if got := SnapshotFromView(nil); len(got.Verdicts) != 0 {
		t.Errorf("SnapshotFromView(nil) = %+v; want empty", got)
	}
}
