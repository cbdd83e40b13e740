package health

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

// t0 is the injected "now" of every consensus test; nothing here reads the
// real clock.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const testSuspectAfter = 3 * time.Second

const (
	none = OpinionNone
	up   = OpinionReachable
	sus  = OpinionSuspect
)

// world builds a ConsensusInput. This node starts reachable to every other
// member (so each is a live observer) and nobody else has an opinion.
type world struct{ in ConsensusInput }

func newWorld(self string, members ...string) *world {
	w := &world{in: ConsensusInput{
		Self:    self,
		Members: members,
		Leaving: map[string]bool{},
		Own:     map[string]Opinion{},
		Reports: map[string]map[string]Opinion{},
	}}
	for _, m := range members {
		if m != self {
			w.in.Own[m] = OpinionReachable
		}
	}
	return w
}

// heard sets this node's own opinion of node from its last evidence, ago
// before now: reachable within testSuspectAfter, else suspect (the round-1
// tests were written with heartbeat ages).
func (w *world) heard(node string, ago time.Duration) *world {
	w.in.Own[node] = OpinionReachable
	if ago > testSuspectAfter {
		w.in.Own[node] = OpinionSuspect
	}
	return w
}

// silent gives this node no opinion of node: never heard.
func (w *world) silent(node string) *world {
	delete(w.in.Own, node)
	return w
}

// own sets this node's opinion of subject.
func (w *world) own(subject string, op Opinion) *world {
	w.in.Own[subject] = op
	return w
}

// report records that observer's latest report says op of subject.
func (w *world) report(observer, subject string, op Opinion) *world {
	if w.in.Reports[observer] == nil {
		w.in.Reports[observer] = map[string]Opinion{}
	}
	w.in.Reports[observer][subject] = op
	return w
}

// about sets every observer's opinion of subject at once: the opinion of
// w.in.Self goes into Own, the others into Reports.
func (w *world) about(subject string, ops map[string]Opinion) *world {
	for o, op := range ops {
		if o == w.in.Self {
			w.own(subject, op)
		} else {
			w.report(o, subject, op)
		}
	}
	return w
}

func (w *world) leaving(node string) *world {
	w.in.Leaving[node] = true
	return w
}

func (w *world) build() ConsensusInput { return w.in }

func TestConsensus(t *testing.T) {
	tests := []struct {
		name string
		in   ConsensusInput
		want map[string]Verdict // checked members only
	}{
		{
			name: "all observers agree reachable: online, confirmed",
			in: newWorld("a", "a", "b", "c", "d").
				about("b", map[string]Opinion{"a": up, "c": up, "d": up}).
				about("c", map[string]Opinion{"a": up, "b": up, "d": up}).
				about("d", map[string]Opinion{"a": up, "b": up, "c": up}).
				build(),
			want: map[string]Verdict{
				"b": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "c": up, "d": up}, Suspecting: 0, Live: 3},
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up, "d": up}, Suspecting: 0, Live: 3},
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up, "c": up}, Suspecting: 0, Live: 3},
			},
		},
		{
			name: "one of three suspects: online, listed as its opinion",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": up, "b": up, "c": sus}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up, "c": sus}, Suspecting: 1, Live: 3},
			},
		},
		{
			name: "self alone of three suspects: online, listed as its opinion",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": sus, "b": up, "c": up}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": up, "c": up}, Suspecting: 1, Live: 3},
			},
		},
		{
			name: "majority suspects: offline, confirmed",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": sus, "b": sus, "c": up}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus, "c": up}, Suspecting: 2, Live: 3},
			},
		},
		{
			name: "majority suspects while self says reachable: offline",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": up, "b": sus, "c": sus}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": sus, "c": sus}, Suspecting: 2, Live: 3},
			},
		},
		{
			name: "everyone suspects: offline",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": sus, "b": sus, "c": sus}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus, "c": sus}, Suspecting: 3, Live: 3},
			},
		},
		{
			// A tie is not a majority: the conservative verdict is degraded.
			name: "1 of 2 (self suspects): online, one observer's opinion",
			in: newWorld("a", "a", "b", "c").
				about("c", map[string]Opinion{"a": sus, "b": up}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": up}, Suspecting: 1, Live: 2},
			},
		},
		{
			name: "1 of 2 (peer suspects): online, one observer's opinion",
			in: newWorld("a", "a", "b", "c").
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": sus}, Suspecting: 1, Live: 2},
			},
		},
		{
			name: "tie 2 of 4: degraded, not offline",
			in: newWorld("a", "a", "b", "c", "d", "e").
				about("e", map[string]Opinion{"a": sus, "b": sus, "c": up, "d": up}).
				build(),
			want: map[string]Verdict{
				"e": {Status: StatusDegraded, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus, "c": up, "d": up}, Suspecting: 2, Live: 4},
			},
		},
		{
			name: "3 of 4 suspect: offline",
			in: newWorld("a", "a", "b", "c", "d", "e").
				about("e", map[string]Opinion{"a": sus, "b": sus, "c": sus, "d": up}).
				build(),
			want: map[string]Verdict{
				"e": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus, "c": sus, "d": up}, Suspecting: 3, Live: 4},
			},
		},
		{
			name: "only self is live and suspects: own opinion, offline, unconfirmed",
			in: newWorld("a", "a", "b", "c").
				heard("b", 10*time.Second).heard("c", 10*time.Second).
				about("c", map[string]Opinion{"a": sus, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOffline, Confirmed: false, Observers: map[string]Opinion{"a": sus}, Suspecting: 1, Live: 1},
			},
		},
		{
			name: "only self is live and hears it: own opinion, online, unconfirmed",
			in: newWorld("a", "a", "b", "c").
				heard("b", 10*time.Second).
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "two-node network, peer silent: offline, unconfirmed",
			in: newWorld("a", "a", "b").
				heard("b", 4*time.Second).
				own("b", sus).
				build(),
			want: map[string]Verdict{
				"b": {Status: StatusOffline, Confirmed: false, Observers: map[string]Opinion{"a": sus}, Suspecting: 1, Live: 1},
			},
		},
		{
			name: "one opinion from a peer, none from self: the peer's, unconfirmed",
			in: newWorld("a", "a", "b", "c").
				silent("c").
				report("b", "c", sus).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOffline, Confirmed: false, Observers: map[string]Opinion{"b": sus}, Suspecting: 1, Live: 1},
			},
		},
		{
			name: "one reachable opinion from a peer: online, unconfirmed",
			in: newWorld("a", "a", "b", "c").
				silent("c").
				report("b", "c", up).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"b": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "nothing heard from anyone: unknown",
			in: newWorld("a", "a", "b", "c").
				silent("b").silent("c").
				build(),
			want: map[string]Verdict{
				"a": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
				"b": {Status: StatusUnknown, Confirmed: false, Observers: map[string]Opinion{}, Suspecting: 0, Live: 0},
				"c": {Status: StatusUnknown, Confirmed: false, Observers: map[string]Opinion{}, Suspecting: 0, Live: 0},
			},
		},
		{
			name: "live observers with explicit no opinion: unknown",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": none, "b": none, "c": none}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusUnknown, Confirmed: false, Observers: map[string]Opinion{}, Suspecting: 0, Live: 0},
			},
		},
		{
			name: "observer without an opinion neither votes nor dilutes",
			in: newWorld("a", "a", "b", "c", "d").
				about("d", map[string]Opinion{"a": sus, "b": none, "c": up}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "c": up}, Suspecting: 1, Live: 2},
			},
		},
		{
			name: "leaving: left, evidence kept",
			in: newWorld("a", "a", "b", "c").
				leaving("c").
				about("c", map[string]Opinion{"a": sus, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusLeft, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus}, Suspecting: 2, Live: 2},
			},
		},
		{
			name: "leaving while still reachable: left",
			in: newWorld("a", "a", "b", "c").
				leaving("c").
				about("c", map[string]Opinion{"a": up, "b": up}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusLeft, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up}, Suspecting: 0, Live: 2},
			},
		},
		{
			name: "leaving with no opinions at all: left, not unknown",
			in: newWorld("a", "a", "b").
				silent("b").leaving("b").
				build(),
			want: map[string]Verdict{
				"b": {Status: StatusLeft, Confirmed: false, Observers: map[string]Opinion{}, Suspecting: 0, Live: 0},
			},
		},
		{
			name: "Leaving false is not left",
			in: func() ConsensusInput {
				in := newWorld("a", "a", "b").own("b", up).build()
				in.Leaving["b"] = false
				return in
			}(),
			want: map[string]Verdict{
				"b": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "self is online even when every peer suspects it",
			in: newWorld("a", "a", "b", "c").
				about("a", map[string]Opinion{"b": sus, "c": sus}).
				build(),
			want: map[string]Verdict{
				"a": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": sus, "c": sus}, Suspecting: 2, Live: 3},
			},
		},
		{
			name: "self ignores its own Own entry and a leaving flag",
			in: newWorld("a", "a", "b").
				own("a", sus).
				leaving("a").
				build(),
			want: map[string]Verdict{
				"a": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "self alone in its network: online, unconfirmed",
			in:   newWorld("a", "a").build(),
			want: map[string]Verdict{
				"a": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "stale observer's suspicion is not counted",
			in: newWorld("a", "a", "b", "c", "d").
				heard("c", testSuspectAfter+time.Millisecond).
				about("d", map[string]Opinion{"a": up, "b": up, "c": sus}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up}, Suspecting: 0, Live: 2},
			},
		},
		{
			name: "stale majority cannot outvote the live observers",
			in: newWorld("a", "a", "b", "c", "d", "e").
				heard("c", time.Minute).heard("d", time.Minute).
				about("e", map[string]Opinion{"a": up, "b": up, "c": sus, "d": sus}).
				build(),
			want: map[string]Verdict{
				"e": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up}, Suspecting: 0, Live: 2},
			},
		},
		{
			name: "stale observer's reachable vote does not keep a member online",
			in: newWorld("a", "a", "b", "c", "d").
				heard("c", time.Minute).
				about("d", map[string]Opinion{"a": sus, "b": sus, "c": up}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": sus}, Suspecting: 2, Live: 2},
			},
		},
		{
			name: "observer alive in the previous evaluation: its opinion is listed",
			in: newWorld("a", "a", "b", "c").
				heard("b", testSuspectAfter).
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": sus}, Suspecting: 1, Live: 2},
			},
		},
		{
			name: "heartbeat 1ns past suspect_after: observer stale",
			in: newWorld("a", "a", "b", "c").
				heard("b", testSuspectAfter+time.Nanosecond).
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "observer alive (a round-1 case: clock stepped back): its opinion is listed",
			in: newWorld("a", "a", "b", "c").
				heard("b", -time.Minute).
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": sus}, Suspecting: 1, Live: 2},
			},
		},
		{
			name: "report from a never-heard observer is not counted",
			in: newWorld("a", "a", "b", "c").
				silent("b").
				about("c", map[string]Opinion{"a": up, "b": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "an observer this node has no opinion of, vouched for by nobody, is not live",
			in: func() ConsensusInput {
				in := newWorld("a", "a", "b", "c").about("c", map[string]Opinion{"a": up, "b": sus}).build()
				delete(in.Own, "b")
				return in
			}(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "a member's report about itself is ignored",
			in: newWorld("a", "a", "b", "c").
				report("b", "b", up).
				about("b", map[string]Opinion{"a": sus, "c": sus}).
				build(),
			want: map[string]Verdict{
				"b": {Status: StatusOffline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "c": sus}, Suspecting: 2, Live: 2},
			},
		},
		{
			name: "a report under self's id is ignored; Own decides",
			in: newWorld("a", "a", "b").
				own("b", up).
				report("a", "b", sus).
				build(),
			want: map[string]Verdict{
				"b": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
			},
		},
		{
			name: "reports from non-members are ignored even when fresh",
			in: newWorld("a", "a", "b", "c").
				heard("x", time.Second).
				about("c", map[string]Opinion{"a": up, "b": up, "x": sus}).
				build(),
			want: map[string]Verdict{
				"c": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": up, "b": up}, Suspecting: 0, Live: 2},
			},
		},
		{
			name: "subject's own staleness does not drop others' opinions",
			in: newWorld("a", "a", "b", "c", "d").
				heard("d", time.Minute).
				about("d", map[string]Opinion{"a": sus, "b": up, "c": up}).
				build(),
			want: map[string]Verdict{
				"d": {Status: StatusOnline, Confirmed: true, Observers: map[string]Opinion{"a": sus, "b": up, "c": up}, Suspecting: 1, Live: 3},
			},
		},
		{
			name: "nil maps: every other member unknown",
			in: ConsensusInput{
				Self: "a", Members: []string{"a", "b"},
			},
			want: map[string]Verdict{
				"a": {Status: StatusOnline, Confirmed: false, Observers: map[string]Opinion{"a": up}, Suspecting: 0, Live: 1},
				"b": {Status: StatusUnknown, Confirmed: false, Observers: map[string]Opinion{}, Suspecting: 0, Live: 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Consensus(tt.in)
			if len(got) != len(tt.in.Members) {
				t.Errorf("Consensus returned %d verdicts; want one per member (%d): %v", len(got), len(tt.in.Members), got)
			}
			for node, want := range tt.want {
				g, ok := got[node]
				if !ok {
					t.Errorf("Consensus()[%q] missing", node)
					continue
				}
				if want = withSuspects(want); !reflect.DeepEqual(g, want) {
					t.Errorf("Consensus()[%q] = %+v; want %+v", node, g, want)
				}
				if g.Live != len(g.Observers) {
					t.Errorf("Consensus()[%q].Live = %d; want len(Observers) = %d", node, g.Live, len(g.Observers))
				}
			}
		})
	}
}

// TestLiveObservers: reports count from members this node verifies itself,
// and from members a majority of those vouch for; never from members only
// vouched for by unverified ones (a partitioned side's last reports would
// keep each other alive forever).
func TestLiveObservers(t *testing.T) {
	tests := []struct {
		name string
		in   ConsensusInput
		want []string
	}{
		{"all reachable", newWorld("a", "a", "b", "c").build(), []string{"b", "c"}},
		{
			name: "partition: the far side vouches for itself, nobody near does",
			in: newWorld("d", "a", "b", "c", "d", "e").
				heard("a", time.Minute).heard("b", time.Minute).heard("c", time.Minute).
				about("a", map[string]Opinion{"b": up, "c": up, "e": sus}).
				about("b", map[string]Opinion{"a": up, "c": up, "e": sus}).
				about("c", map[string]Opinion{"a": up, "b": up, "e": sus}).
				build(),
			want: []string{"e"},
		},
		{
			name: "behind NAT: unreachable here, vouched for by the public member",
			in: newWorld("a", "a", "b", "p").
				heard("b", time.Minute).
				report("p", "b", up).
				build(),
			want: []string{"b", "p"},
		},
		{
			name: "one vouches, one does not: no majority",
			in: newWorld("a", "a", "b", "c", "d").
				heard("d", time.Minute).
				report("b", "d", up).report("c", "d", sus).
				build(),
			want: []string{"b", "c"},
		},
		{
			name: "never heard: not live",
			in:   newWorld("a", "a", "b").silent("b").build(),
			want: nil,
		},
		{
			name: "recovering from a pause: a withdrawn opinion still counts",
			in: func() ConsensusInput {
				in := newWorld("a", "a", "b", "c").silent("b").heard("c", time.Minute).build()
				in.Recovering = true
				return in
			}(),
			want: []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(LiveObservers(tt.in)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("LiveObservers() = %q; want %q", got, tt.want)
			}
		})
	}
}

// withSuspects fills v.Suspects from v.Observers, sorted, as Consensus
// does, so the table need not repeat it.
func withSuspects(v Verdict) Verdict {
	if v.Suspects != nil {
		return v
	}
	for o, op := range v.Observers {
		if op == sus {
			v.Suspects = append(v.Suspects, o)
		}
	}
	slices.Sort(v.Suspects)
	return v
}

// TestConsensusRecovery walks one member through going down and coming back:
// as suspect opinions are replaced by reachable ones the verdict moves from
// offline through degraded back to online.
func TestConsensusRecovery(t *testing.T) {
	steps := []struct {
		name       string
		ops        map[string]Opinion
		want       Status
		suspecting int
	}{
		{"healthy", map[string]Opinion{"a": up, "b": up, "c": up}, StatusOnline, 0},
		{"first suspicion: one observer's opinion", map[string]Opinion{"a": sus, "b": up, "c": up}, StatusOnline, 1},
		{"majority suspects", map[string]Opinion{"a": sus, "b": sus, "c": up}, StatusOffline, 2},
		{"all suspect", map[string]Opinion{"a": sus, "b": sus, "c": sus}, StatusOffline, 3},
		{"self hears it again", map[string]Opinion{"a": up, "b": sus, "c": sus}, StatusOffline, 2},
		{"a second observer hears it", map[string]Opinion{"a": up, "b": up, "c": sus}, StatusOnline, 1},
		{"recovered everywhere", map[string]Opinion{"a": up, "b": up, "c": up}, StatusOnline, 0},
	}
	w := newWorld("a", "a", "b", "c", "d")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			// Each step replaces every observer's opinion of d, as new
			// reports would.
			w.about("d", st.ops)
			v := Consensus(w.build())["d"]
			if v.Status != st.want || v.Suspecting != st.suspecting || v.Live != 3 || !v.Confirmed {
				t.Errorf("Consensus()[d] = %+v; want status %s, suspecting %d, live 3, confirmed", v, st.want, st.suspecting)
			}
		})
	}

	t.Run("back from left", func(t *testing.T) {
		w := newWorld("a", "a", "b").leaving("b").own("b", up)
		if got := Consensus(w.build())["b"].Status; got != StatusLeft {
			t.Fatalf("leaving: status %s; want %s", got, StatusLeft)
		}
		// The engine clears Leaving when a running heartbeat arrives.
		w.in.Leaving["b"] = false
		if got := Consensus(w.build())["b"].Status; got != StatusOnline {
			t.Errorf("running again: status %s; want %s", got, StatusOnline)
		}
	})

	t.Run("stale observer comes back", func(t *testing.T) {
		w := newWorld("a", "a", "b", "c").
			heard("b", time.Minute).
			about("c", map[string]Opinion{"a": sus, "b": up})
		if v := Consensus(w.build())["c"]; v.Status != StatusOffline || v.Confirmed {
			t.Fatalf("b stale: %+v; want offline, unconfirmed", v)
		}
		w.heard("b", 0)
		if v := Consensus(w.build())["c"]; v.Status != StatusOnline || !v.Confirmed || v.Live != 2 || !slices.Equal(v.Suspects, []string{"a"}) {
			t.Errorf("b fresh again: %+v; want online (suspected by a alone), confirmed, live 2", v)
		}
	})
}

// TestConsensusExhaustive checks every combination of opinion and observer
// freshness in a four-member network against the rules of DESIGN.md §6,
// written out independently of the implementation.
func TestConsensusExhaustive(t *testing.T) {
	opinions := []Opinion{none, up, sus}
	type freshness int
	const (
		fresh freshness = iota
		stale
		never
	)
	freshnesses := []freshness{fresh, stale, never}
	const subject = "d"
	peers := []string{"b", "c"} // the observers other than self ("a")

	n := 0
	for _, selfOp := range opinions {
		for _, bOp := range opinions {
			for _, cOp := range opinions {
				for _, bF := range freshnesses {
					for _, cF := range freshnesses {
						for _, left := range []bool{false, true} {
							n++
							w := newWorld("a", "a", "b", "c", "d").own(subject, selfOp)
							ops := map[string]Opinion{"b": bOp, "c": cOp}
							fr := map[string]freshness{"b": bF, "c": cF}
							for _, p := range peers {
								w.report(p, subject, ops[p])
								switch fr[p] {
								case stale:
									w.heard(p, testSuspectAfter+time.Second)
								case never:
									w.silent(p)
								}
							}
							if left {
								w.leaving(subject)
							}

							// The oracle.
							wantObs := map[string]Opinion{}
							if selfOp != none {
								wantObs["a"] = selfOp
							}
							for _, p := range peers {
								if fr[p] == fresh && ops[p] != none {
									wantObs[p] = ops[p]
								}
							}
							live, suspecting := len(wantObs), 0
							for _, op := range wantObs {
								if op == sus {
									suspecting++
								}
							}
							var want Status
							switch {
							case left:
								want = StatusLeft
							case live == 0:
								want = StatusUnknown
							case live == 1 && suspecting == 1: // alone: its own opinion decides, unconfirmed
								want = StatusOffline
							case suspecting >= 2 && suspecting*2 > live:
								want = StatusOffline
							case suspecting >= 2:
								want = StatusDegraded
							default: // one suspecter among several is an opinion, not a verdict
								want = StatusOnline
							}
							wantV := withSuspects(Verdict{Status: want, Confirmed: live >= 2, Observers: wantObs, Suspecting: suspecting, Live: live})

							name := fmt.Sprintf("self=%s/b=%s,%d/c=%s,%d/left=%t", selfOp, bOp, bF, cOp, cF, left)
							got := Consensus(w.build())[subject]
							if !reflect.DeepEqual(got, wantV) {
								t.Errorf("%s: Consensus()[d] = %+v; want %+v", name, got, wantV)
							}
						}
					}
				}
			}
		}
	}
	if n != 3*3*3*3*3*2 {
		t.Fatalf("ran %d combinations", n)
	}
}

// TestConsensusPure checks that Consensus neither modifies its input nor
// depends on anything but it.
func TestConsensusPure(t *testing.T) {
	w := newWorld("a", "a", "b", "c", "d").
		heard("c", time.Minute).leaving("b").
		about("d", map[string]Opinion{"a": sus, "b": up, "c": sus}).
		about("c", map[string]Opinion{"a": sus, "b": sus})
	in := w.build()
	snapshot := cloneInput(in)

	first := Consensus(in)
	if !reflect.DeepEqual(in, snapshot) {
		t.Errorf("Consensus modified its input:\n got %+v\nwant %+v", in, snapshot)
	}
	for range 5 {
		if again := Consensus(in); !reflect.DeepEqual(again, first) {
			t.Fatalf("Consensus is not deterministic: %+v then %+v", first, again)
		}
	}
	// The verdicts own their Observers maps.
	first["d"].Observers["zz"] = sus
	if _, ok := Consensus(in)["d"].Observers["zz"]; ok {
		t.Error("verdicts share Observers maps across calls")
	}
}

func cloneInput(in ConsensusInput) ConsensusInput {
	out := in
	out.Members = append([]string(nil), in.Members...)
	out.Leaving = maps.Clone(in.Leaving)
	out.Own = maps.Clone(in.Own)
	out.Reports = make(map[string]map[string]Opinion, len(in.Reports))
	for k, v := range in.Reports {
		out.Reports[k] = maps.Clone(v)
	}
	return out
}

func TestVerdictAgreeing(t *testing.T) {
	tests := []struct {
		v    Verdict
		want int
	}{
		{Verdict{Status: StatusOnline, Live: 3, Suspecting: 0}, 3},
		{Verdict{Status: StatusDegraded, Live: 3, Suspecting: 1}, 2},
		{Verdict{Status: StatusDegraded, Live: 4, Suspecting: 2}, 2},
		{Verdict{Status: StatusOffline, Live: 3, Suspecting: 2}, 2},
		{Verdict{Status: StatusOffline, Live: 1, Suspecting: 1}, 1},
		{Verdict{Status: StatusLeft, Live: 2, Suspecting: 1}, 2},
		{Verdict{Status: StatusUnknown, Live: 0}, 0},
		// Self is online whatever peers say; agreeing counts those who do.
		{Verdict{Status: StatusOnline, Live: 3, Suspecting: 2}, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%d_of_%d", tt.v.Status, tt.v.Suspecting, tt.v.Live), func(t *testing.T) {
			if got := tt.v.Agreeing(); got != tt.want {
				t.Errorf("%+v.Agreeing() = %d; want %d", tt.v, got, tt.want)
			}
		})
	}
}

func TestOwnOpinion(t *testing.T) {
	const sa = testSuspectAfter
	var zero time.Time
	tests := []struct {
		name      string
		lastHeard time.Time
		downSince time.Time
		resumedAt time.Time // zero: this node never paused
		want      Opinion
	}{
		{"never heard", zero, zero, zero, none},
		{"never heard, dial failed", zero, t0.Add(-time.Second), zero, none},
		{"heard just now", t0, zero, zero, up},
		{"heard within suspect_after", t0.Add(-sa / 2), zero, zero, up},
		{"heard exactly suspect_after ago", t0.Add(-sa), zero, zero, up},
		{"heard 1ns more than suspect_after ago", t0.Add(-sa - time.Nanosecond), zero, zero, sus},
		{"heard long ago", t0.Add(-time.Hour), zero, zero, sus},
		{"heard in the future (clock stepped back)", t0.Add(time.Minute), zero, zero, up},
		{"fresh, but redial failed after it", t0.Add(-time.Second), t0.Add(-time.Millisecond), zero, sus},
		{"fresh, redial failed at the same instant", t0.Add(-time.Second), t0.Add(-time.Second), zero, sus},
		{"heartbeat within the grace after the failure still predates it", t0, t0.Add(-fastPathGrace / 2), zero, sus},
		{"heartbeat exactly at the end of the grace", t0, t0.Add(-fastPathGrace), zero, sus},
		{"heartbeat after the grace: back", t0, t0.Add(-fastPathGrace - time.Nanosecond), zero, up},
		{"heartbeat long after an old failure: back", t0.Add(-time.Second), t0.Add(-time.Minute), zero, up},
		{"back after a failure, but silent since", t0.Add(-sa - time.Second), t0.Add(-time.Minute), zero, sus},
		// Local awareness: this node resumed from a pause (docs/liveness.md).
		{"paused: silent since before the resume, recovering", t0.Add(-time.Minute), zero, t0.Add(-sa / 2), none},
		{"paused: heard since the resume", t0.Add(-time.Second), zero, t0.Add(-2 * time.Second), up},
		{"paused: silent for suspect_after after the resume", t0.Add(-time.Minute), zero, t0.Add(-sa - time.Nanosecond), sus},
		{"paused: exactly suspect_after after the resume", t0.Add(-time.Minute), zero, t0.Add(-sa), none},
		{"paused: a refused redial is not silence", t0.Add(-time.Minute), t0.Add(-time.Second), t0.Add(-time.Second), sus},
		{"paused long ago: ordinary rules", t0.Add(-time.Minute), zero, t0.Add(-time.Hour), sus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnOpinion(tt.lastHeard, tt.downSince, tt.resumedAt, t0, sa); got != tt.want {
				t.Errorf("OwnOpinion(%v, %v, %v, %v, %v) = %s; want %s", tt.lastHeard, tt.downSince, tt.resumedAt, t0, sa, got, tt.want)
			}
		})
	}
}

func TestOpinionString(t *testing.T) {
	tests := []struct {
		o    Opinion
		want string
	}{
		{OpinionNone, "none"},
		{OpinionReachable, "reachable"},
		{OpinionSuspect, "suspect"},
		{Opinion(42), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.o.String(); got != tt.want {
				t.Errorf("Opinion(%d).String() = %q; want %q", uint8(tt.o), got, tt.want)
			}
		})
	}
}
