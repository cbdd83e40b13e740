package health

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

func TestReportChange(t *testing.T) {
	obs := func(op Opinion, connected bool, rtt uint32) *pb.PeerObservation {
		return &pb.PeerObservation{NodeId: "b", Reachability: pb.Reachability(op), Connected: connected, RttUs: rtt}
	}
	for _, tc := range []struct {
		name                      string
		published                 publishedObs
		now                       *pb.PeerObservation
		changed, opinion, suspect bool
	}{
		{"unchanged", publishedObs{op: up, connected: true, rttKnown: true}, obs(up, true, 5), false, false, false},
		{"an RTT only moved", publishedObs{op: up, connected: true, rttKnown: true}, obs(up, true, 9), false, false, false},
		{"connected", publishedObs{}, obs(OpinionNone, true, 0), true, false, false},
		{"first evidence", publishedObs{connected: true}, obs(up, true, 0), true, true, false},
		{"first RTT", publishedObs{op: up, connected: true}, obs(up, true, 5), true, false, false},
		{"disconnected", publishedObs{op: up, connected: true, rttKnown: true}, obs(up, false, 0), true, false, false},
		{"suspected", publishedObs{op: up, connected: true, rttKnown: true}, obs(sus, false, 0), true, true, true},
		{"suspected, never heard before", publishedObs{}, obs(sus, false, 0), true, true, true},
		{"suspicion withdrawn", publishedObs{op: sus}, obs(up, true, 0), true, true, false},
		{"suspicion withdrawn after a pause", publishedObs{op: sus}, obs(OpinionNone, false, 0), true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed, opinion, suspect := reportChange(map[string]publishedObs{"b": tc.published}, map[string]*pb.PeerObservation{"b": tc.now})
			if changed != tc.changed || opinion != tc.opinion || suspect != tc.suspect {
				t.Errorf("reportChange(%+v, %v) = %v, %v, %v; want %v, %v, %v", tc.published, tc.now, changed, opinion, suspect, tc.changed, tc.opinion, tc.suspect)
			}
		})
	}
}

// TestEngineReportPace: while links come up, link facts (connected, first
// RTT) go out at most once per reportPace, whatever the number of links;
// an opinion that changes (first evidence, a suspicion, its withdrawal)
// goes out at once.
func TestEngineReportPace(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c", "d", "e")
	d.lastReport()
	reports := func() (n int, last *pb.Report) {
		for {
			r := d.lastReport()
			if r == nil {
				return n, last
			}
			n, last = n+1, r
		}
	}
	connected := func(r *pb.Report) int {
		n := 0
		for _, o := range r.GetPeers() {
			if o.GetConnected() {
				n++
			}
		}
		return n
	}

	// Four links come up within a moment: one Report at once (the first
	// news), the rest held back.
	for _, m := range []string{"b", "c", "d", "e"} {
		d.link(m, p2p.Link{Connected: true})
		clock.Advance(10 * time.Millisecond)
	}
	if n, _ := reports(); n != 1 {
		t.Fatalf("%d Reports while 4 links came up within 40 ms; want 1 (the rest paced)", n)
	}
	clock.Advance(reportPace / 2)
	d.s.evaluate()
	if n, _ := reports(); n != 0 {
		t.Fatalf("%d Reports half a pace later; want 0", n)
	}
	clock.Advance(reportPace / 2)
	d.s.evaluate()
	if n, r := reports(); n != 1 || connected(r) != 4 {
		t.Fatalf("%d Reports, the last %v, a pace after the first; want 1 with 4 links connected", n, r)
	}

	// First evidence of b changes an opinion: at once, though the last
	// Report is not a pace old.
	clock.Advance(10 * time.Millisecond)
	d.ping("b", time.Millisecond)
	if n, r := reports(); n != 1 || reportOpinions(r)["b"] != up {
		t.Fatalf("%d Reports, the last %v, after the first evidence of b; want 1 with b reachable", n, r)
	}
	// b's connection drops and its redial is refused: suspected at once.
	clock.Advance(10 * time.Millisecond)
	d.link("b", p2p.Link{DialFailed: true})
	if n, r := reports(); n != 1 || reportOpinions(r)["b"] != sus {
		t.Fatalf("%d Reports, the last %v, after b's redial was refused; want 1 suspecting b", n, r)
	}
	// b is back: the withdrawal goes out at once too.
	clock.Advance(300 * time.Millisecond)
	d.link("b", p2p.Link{Connected: true})
	d.ping("b", time.Millisecond)
	if n, r := reports(); n < 1 || reportOpinions(r)["b"] != up {
		t.Fatalf("%d Reports, the last %v, after b came back; want b reachable at once", n, r)
	}
}
