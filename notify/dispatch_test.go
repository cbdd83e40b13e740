package notify

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// alertAt is an alert on agreed evidence: 3 live observers, all of them
// suspecting an offline node and 2 a degraded one.
func alertAt(node string, kind Kind, at time.Time) Alert {
	susp := map[Kind]int{KindOffline: 3, KindDegraded: 2}[kind]
	return Alert{ID: AlertID("net", node, kind, 1, at), Network: "net", Node: node, Kind: kind, Boot: 1, At: at,
		Live: 3, Suspecting: susp}
}

func TestDispatch(t *testing.T) {
	// Cluster a, b, c (election order). Network also has x and y.
	all := ElectionResult{Leader: "a", Live: []string{"a", "b", "c"}}
	aDead := ElectionResult{Leader: "b", Live: []string{"b", "c"}}
	waiting := ElectionResult{Waiting: true, Live: []string{"b"}}

	xOff := alertAt("x", KindOffline, t0)
	yOff := alertAt("y", KindOffline, t0.Add(time.Second))
	aOff := alertAt("a", KindOffline, t0.Add(2*time.Second))
	xOn := alertAt("x", KindOnline, t0.Add(time.Minute))
	aDeg := alertAt("a", KindDegraded, t0)

	ids := func(as []Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	tests := []struct {
		name      string
		self      string
		el        ElectionResult
		pending   []Alert
		delivered []string
		sending   []string
		upSince   map[string]time.Time
		want      []string
		covers    map[string][]string
	}{
		{
			name: "leader sends what is pending", self: "a", el: all,
			pending: []Alert{yOff, xOff}, want: []string{xOff.ID, yOff.ID},
		},
		{
			name: "follower sends nothing", self: "b", el: all,
			pending: []Alert{xOff, yOff},
		},
		{
			name: "waiting: nobody sends", self: "b", el: waiting,
			pending: []Alert{xOff, aOff},
		},
		{
			name: "no duplicate after Delivered", self: "a", el: all,
			pending: []Alert{xOff, yOff}, delivered: []string{xOff.ID}, want: []string{yOff.ID},
		},
		{
			name: "nothing twice while being sent", self: "a", el: all,
			pending: []Alert{xOff, yOff}, sending: []string{xOff.ID, yOff.ID},
		},
		{
			name: "new leader sends every undelivered alert, the old leader's death included", self: "b", el: aDead,
			pending: []Alert{xOff, yOff, aOff}, delivered: []string{xOff.ID},
			want: []string{yOff.ID, aOff.ID},
		},
		{
			name: "an alert about the leader is sent by the runner-up", self: "b", el: all,
			pending: []Alert{aDeg, xOff}, want: []string{aDeg.ID},
		},
		{
			name: "the leader does not report on itself", self: "a", el: all,
			pending: []Alert{aDeg, xOff}, want: []string{xOff.ID},
		},
		{
			name: "an alert from before the leader came back: the next member up then sends it", self: "b", el: all,
			pending: []Alert{xOff, xOn}, upSince: map[string]time.Time{"a": t0.Add(50 * time.Second), "b": t0.Add(-time.Hour)},
			want: []string{xOn.ID}, covers: map[string][]string{xOn.ID: {xOff.ID}},
		},
		{
			name: "... and the returned leader does not", self: "a", el: all,
			pending: []Alert{xOff}, upSince: map[string]time.Time{"a": t0.Add(50 * time.Second), "b": t0.Add(-time.Hour)},
		},
		{
			name: "... but sends what came after it settled", self: "a", el: all,
			pending: []Alert{xOn}, upSince: map[string]time.Time{"a": t0.Add(-time.Hour), "b": t0.Add(-time.Hour)},
			want: []string{xOn.ID},
		},
		{
			name: "the whole cluster just started: the leader sends", self: "a", el: all,
			pending: []Alert{xOff}, upSince: map[string]time.Time{"a": t0, "b": t0, "c": t0},
			want: []string{xOff.ID},
		},
		{
			name: "an outage that ended while waiting goes out as one recovery", self: "a", el: all,
			pending: []Alert{xOn, xOff, yOff}, want: []string{yOff.ID, xOn.ID},
			covers: map[string][]string{xOn.ID: {xOff.ID}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := func(ids []string) map[string]bool {
				m := map[string]bool{}
				for _, id := range ids {
					m[id] = true
				}
				return m
			}
			got := Dispatch(DispatchInput{
				Self: tt.self, Election: tt.el, Pending: tt.pending,
				Delivered: set(tt.delivered), Sending: set(tt.sending), UpSince: tt.upSince,
			})
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("Dispatch = %v; want %v", ids(got), tt.want)
			}
			for _, a := range got {
				if !slices.Equal(a.Covers, tt.covers[a.ID]) {
					t.Errorf("Dispatch: %s covers %v; want %v", a.ID, a.Covers, tt.covers[a.ID])
				}
			}
		})
	}
}

func TestDispatchDoesNotModifyInput(t *testing.T) {
	pending := []Alert{alertAt("x", KindOffline, t0), alertAt("x", KindOnline, t0.Add(time.Second))}
	pending[1].Covers = make([]string, 0, 4)
	Dispatch(DispatchInput{Self: "a", Election: ElectionResult{Leader: "a", Live: []string{"a", "b"}}, Pending: pending})
	if got := pending[1].Covers[:1][0]; len(pending[1].Covers) != 0 || got != "" {
		t.Errorf("Dispatch changed its input: %+v", pending[1])
	}
}

// sim runs the pure path for one cluster without a network: every live
// member tracks the same verdicts (each evaluating a little later than the
// previous one), elects, takes what it must send, and "delivers" it; each
// delivery is gossiped as Delivered to every live member.
type sim struct {
	t       *testing.T
	cluster Cluster
	members []ClusterMember
	status  map[string]health.Status
	boot    map[string]uint64
	tracker map[string]*Tracker
	ledger  map[string]*Ledger
}

func newSim(t *testing.T, start time.Time, cluster []string, others ...string) *sim {
	s := &sim{
		t:       t,
		cluster: NewCluster("net", NewWebhook("ops", TypeDiscord, "https://example.invalid/hook")),
		status:  map[string]health.Status{},
		boot:    map[string]uint64{},
		tracker: map[string]*Tracker{},
		ledger:  map[string]*Ledger{},
	}
	for i, id := range cluster {
		s.members = append(s.members, ClusterMember{NodeID: id, PeerID: fmt.Sprintf("P%d", i+1), Participating: true})
		s.tracker[id], s.ledger[id] = NewTracker("net", id), NewLedger(0)
		s.status[id] = health.StatusOnline
		s.boot[id] = uint64(start.UnixMilli())
	}
	for _, id := range others {
		s.members = append(s.members, ClusterMember{NodeID: id, PeerID: "P0" + id})
		s.status[id] = health.StatusOnline
	}
	return s
}

// restart brings member id back up as a new process with nothing known.
func (s *sim) restart(id string, now time.Time) {
	s.status[id] = health.StatusOnline
	s.boot[id] = uint64(now.UnixMilli())
	s.tracker[id], s.ledger[id] = NewTracker("net", id), NewLedger(0)
}

func (s *sim) live(id string) bool {
	return s.tracker[id] != nil && s.status[id] == health.StatusOnline
}

// observe feeds every live cluster member the current statuses, confirmed
// by the live nodes other than the member and the subject.
func (s *sim) observe(now time.Time) {
	for i, m := range s.members {
		if !s.live(m.NodeID) {
			continue
		}
		v := map[string]health.Verdict{}
		for n, st := range s.status {
			if n == m.NodeID {
				continue
			}
			liveObs := 1 // the member itself
			for o, ost := range s.status {
				if o != n && o != m.NodeID && ost == health.StatusOnline {
					liveObs++
				}
			}
			susp := 0
			if st == health.StatusOffline {
				susp = liveObs
			}
			v[n] = verdict(st, liveObs >= 2, liveObs, susp)
		}
		at := now.Add(time.Duration(i) * 700 * time.Millisecond)
		s.ledger[m.NodeID].Add(at, s.tracker[m.NodeID].Observe(Snapshot{Verdicts: v, Boots: s.boot}, at)...)
	}
}

func (s *sim) sendAll(now time.Time) []Alert {
	var sent []Alert
	for _, m := range s.members {
		if !s.live(m.NodeID) {
			continue
		}
		el := Elect(ElectionInput{Self: m.NodeID, Members: s.members, Verdicts: verdicts(s.status)})
		for _, a := range s.ledger[m.NodeID].Take(m.NodeID, el, s.tracker[m.NodeID].UpSince()) {
			sent = append(sent, a)
			for _, id := range a.IDs() {
				d := s.cluster.Delivered(id)
				for _, o := range s.members {
					if got, ok := s.cluster.DeliveredAlert(d); ok && s.live(o.NodeID) {
						s.ledger[o.NodeID].MarkDelivered(now, got)
					}
				}
			}
		}
	}
	return sent
}

func (s *sim) expect(what string, sent []Alert, want ...string) {
	s.t.Helper()
	var got []string
	for _, a := range sent {
		got = append(got, a.Node+" "+string(a.Kind))
	}
	if !slices.Equal(got, want) {
		s.t.Fatalf("%s: sent %v; want %v", what, got, want)
	}
}

// Three members share a webhook; the leader delivers, the others hear
// Delivered; the leader dies and the new leader sends exactly what is still
// owed; the leader's return is reported once.
func TestLeaderHandover(t *testing.T) {
	// The members' 0.7 s skew makes x's offline straddle a bucket border.
	now := time.Date(2025, 3, 1, 12, 0, 19, 500e6, time.UTC)
	s := newSim(t, now, []string{"a", "b", "c"}, "x")
	s.observe(now)
	s.expect("start", s.sendAll(now))

	now = now.Add(10 * time.Second)
	s.status["x"] = health.StatusOffline
	s.observe(now)
	if a, b := s.ledger["a"].Pending()[0].ID, s.ledger["b"].Pending()[0].ID; a == b {
		t.Fatalf("members derived the same ID %s; the test wants them to straddle a border", a)
	}
	s.expect("x offline", s.sendAll(now), "x offline")
	s.expect("x offline, next round", s.sendAll(now))

	now = now.Add(10 * time.Second)
	s.status["a"] = health.StatusOffline
	s.observe(now)
	s.expect("leader offline", s.sendAll(now), "a offline")

	now = now.Add(10 * time.Second)
	s.restart("a", now)
	s.observe(now)
	s.expect("leader back", s.sendAll(now), "a online")
	// A minute later the returned leader has settled and sends again.
	now = now.Add(time.Minute)
	s.status["x"] = health.StatusOnline
	s.observe(now)
	s.expect("x back", s.sendAll(now), "x online")
	s.expect("after", s.sendAll(now.Add(time.Second)))
}

// Two members share a webhook. One dies: the other waits and sends nothing.
// Meanwhile x goes down and comes back. When the member returns (restarted,
// or after a hang with the same process), the outage of x and the member's
// own are each reported once, as recoveries, by the member that held them.
func TestWaitingThenRecovery(t *testing.T) {
	for _, restart := range []bool{true, false} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			s := newSim(t, now, []string{"a", "b"}, "x", "y")
			s.observe(now)
			s.expect("start", s.sendAll(now))

			now = now.Add(10 * time.Second)
			s.status["a"] = health.StatusOffline
			s.observe(now)
			s.expect("a offline, b alone", s.sendAll(now))

			now = now.Add(time.Minute)
			s.status["x"] = health.StatusOffline
			s.observe(now)
			s.expect("x offline while waiting", s.sendAll(now))

			now = now.Add(time.Minute)
			s.status["x"] = health.StatusOnline
			s.observe(now)
			s.expect("x back while waiting", s.sendAll(now))

			now = now.Add(time.Minute)
			if restart {
				s.restart("a", now)
			} else {
				s.status["a"] = health.StatusOnline
			}
			s.observe(now)
			sent := s.sendAll(now)
			s.expect("a back", sent, "x online", "a online")
			for _, a := range sent {
				if a.Duration() == 0 || len(a.Covers) != 1 {
					t.Errorf("%s: duration %v, covers %v; want the outage and its offline alert", a.Title(), a.Duration(), a.Covers)
				}
			}
			s.expect("after", s.sendAll(now.Add(time.Second)))
		})
	}
}
