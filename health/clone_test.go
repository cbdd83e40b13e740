package health

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// clonedReport is b's report from incarnation boot at seq, flagged with
// clash when not nil; connected members are reachable.
func clonedReport(boot, seq uint64, clash *p2p.Clash, ops map[string]Opinion) p2p.Message {
	m := reportMsg("b", ops)
	m.Env.Header.BootId, m.Env.Header.Seq = boot, seq
	m.Clash = clash
	return m
}

func identityEvents(d *driver, sev Severity) []Event {
	return d.events.List(func(e Event) bool { return e.Kind == "identity" && e.Node == "b" && e.Severity == sev })
}

// TestEngineClonedMember: b runs as two hosts with one key. The engine takes
// the reports of both incarnations, merged (mergeReports), raises one identity error event per clash, counts it, shows
// it in the view, and ends it after ClashHold without a flagged message.
func TestEngineClonedMember(t *testing.T) {
	clock := newFakeClock(time.Unix(1_800_000_000, 0))
	d := newDriver(t, clock, "a", "b", "c", "d")
	hold := ClashHold(d.s.e.cfg.ReportRefresh)
	d.ping("c", time.Millisecond)
	d.ping("d", time.Millisecond)

	// The copy started later, at incarnation 43: it cannot see c.
	d.msg(clonedReport(43, 1, nil, map[string]Opinion{"a": OpinionReachable, "c": OpinionNone, "d": OpinionReachable}))
	if n := d.node("b"); n.IdentityClash != nil {
		t.Fatalf("identity_clash = %+v before any clash", n.IdentityClash)
	}
	// The real b goes on at 42 and suspects c: the validator flags it.
	clash := &p2p.Clash{Boot: 42, Other: 43, Addrs: []string{"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"}}
	d.msg(clonedReport(42, 5, clash, map[string]Opinion{"a": OpinionReachable, "c": OpinionSuspect, "d": OpinionReachable}))
	opinionOf := func(subject string) Opinion {
		var op Opinion
		d.step(func(s *engineState) { op = Opinion(s.reports["b"][subject].GetReachability()) })
		return op
	}
	if got := opinionOf("c"); got != OpinionSuspect {
		t.Errorf("b's opinion of c = %v; want suspect (the real b's, beside the copy's none)", got)
	}
	if got := opinionOf("d"); got != OpinionReachable {
		t.Errorf("b's opinion of d = %v; want reachable", got)
	}
	if n := d.node("c"); !slices.Contains(n.SuspectedBy, "b") {
		t.Errorf("c suspected_by = %v; want b's suspicion shown", n.SuspectedBy)
	}
	ic := d.node("b").IdentityClash
	if ic == nil || !slices.Equal(ic.BootIDs, []uint64{43, 42}) || len(ic.Addrs) != 2 {
		t.Fatalf("identity_clash = %+v; want boot_ids [43 42] and both addresses", ic)
	}
	evs := identityEvents(d, SeverityError)
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "42") || !strings.Contains(evs[0].Message, "43") ||
		!strings.Contains(evs[0].Message, "/ip4/127.0.0.1/tcp/2") {
		t.Fatalf("identity error events = %+v; want one naming both incarnations and addresses", evs)
	}
	if got := d.s.e.MemberClashes(); got["b"] != 1 || got["c"] != 0 || len(got) != 3 {
		t.Errorf("MemberClashes = %v; want b:1 and zeros for c and d", got)
	}

	// The clash goes on: no second event. A flagged announce does not
	// replace the newest incarnation's (its leaving would make b left).
	clock.Advance(time.Second)
	d.msg(clonedReport(42, 6, clash, map[string]Opinion{"a": OpinionReachable, "c": OpinionReachable, "d": OpinionReachable}))
	if got := opinionOf("c"); got != OpinionReachable {
		t.Errorf("b's opinion of c = %v after the real b's newer report; want reachable", got)
	}
	hb := heartbeatMsg("b", pb.State_STATE_LEAVING, 0)
	hb.Env.Header.BootId, hb.Clash = 42, clash
	d.msg(hb)
	d.step(func(s *engineState) {
		if s.leaving["b"] {
			t.Error("the older incarnation's leaving announce was taken")
		}
	})
	if n := len(identityEvents(d, SeverityError)); n != 1 {
		t.Errorf("%d identity error events during one clash; want 1", n)
	}

	// The real b refutes above the copy (44): the copy's 43 is now the
	// older one, and its reports still count beside b's.
	d.msg(clonedReport(44, 1, nil, map[string]Opinion{"a": OpinionReachable, "c": OpinionSuspect, "d": OpinionSuspect}))
	d.msg(clonedReport(43, 2, &p2p.Clash{Boot: 43, Other: 44}, map[string]Opinion{"a": OpinionReachable, "c": OpinionNone, "d": OpinionReachable}))
	if got := opinionOf("d"); got != OpinionNone {
		t.Errorf("b's opinion of d = %v; want none (its hosts disagree: it abstains)", got)
	}
	if got := opinionOf("c"); got != OpinionSuspect {
		t.Errorf("b's opinion of c = %v; want suspect", got)
	}
	if ic := d.node("b").IdentityClash; ic == nil || !slices.Equal(ic.BootIDs, []uint64{44, 43}) {
		t.Errorf("identity_clash = %+v; want boot_ids [44 43]", ic)
	}

	// Nothing shows the clash for ClashHold: it ends, and b's newest
	// incarnation's report alone counts again.
	clock.Advance(hold)
	d.step(func(*engineState) {})
	if ic := d.node("b").IdentityClash; ic != nil {
		t.Errorf("identity_clash = %+v after %v without a flagged message; want none", ic, hold)
	}
	if got := opinionOf("d"); got != OpinionSuspect {
		t.Errorf("b's opinion of d = %v after the clash ended; want the newest incarnation's suspect", got)
	}
	if n := len(identityEvents(d, SeverityInfo)); n != 1 {
		t.Errorf("%d identity info events at the end of the clash; want 1", n)
	}

	// A new clash is a new event and counts again.
	d.msg(clonedReport(43, 3, &p2p.Clash{Boot: 43, Other: 44}, map[string]Opinion{"c": OpinionNone}))
	if n := len(identityEvents(d, SeverityError)); n != 2 {
		t.Errorf("%d identity error events after a second clash; want 2", n)
	}
	if got := d.s.e.MemberClashes()["b"]; got != 2 {
		t.Errorf("MemberClashes[b] = %d; want 2", got)
	}
}

// TestEngineClonedMemberBeforeItsReport: the copy announced itself (a newer
// incarnation) but has sent no report yet when the real b's next report
// shows the clash: the real b's newest report counts, not its older one.
func TestEngineClonedMemberBeforeItsReport(t *testing.T) {
	clock := newFakeClock(time.Unix(1_800_000_000, 0))
	d := newDriver(t, clock, "a", "b", "c")
	d.msg(clonedReport(42, 1, nil, map[string]Opinion{"a": OpinionReachable, "c": OpinionReachable}))
	hb := heartbeatMsg("b", pb.State_STATE_RUNNING, 0)
	hb.Env.Header.BootId, hb.Env.Header.Seq = 43, 1
	d.msg(hb)
	d.msg(clonedReport(42, 2, &p2p.Clash{Boot: 42, Other: 43}, map[string]Opinion{"a": OpinionReachable, "c": OpinionSuspect}))
	d.step(func(s *engineState) {
		if got := Opinion(s.reports["b"]["c"].GetReachability()); got != OpinionSuspect {
			t.Errorf("b's opinion of c = %v; want the real b's newest, suspect", got)
		}
	})
	// The copy's first report goes beside it.
	d.msg(clonedReport(43, 1, nil, map[string]Opinion{"a": OpinionReachable, "c": OpinionNone}))
	d.step(func(s *engineState) {
		if got := Opinion(s.reports["b"]["c"].GetReachability()); got != OpinionSuspect {
			t.Errorf("b's opinion of c = %v after the copy's report; want suspect", got)
		}
	})
	if ic := d.node("b").IdentityClash; ic == nil || !slices.Equal(ic.BootIDs, []uint64{43, 42}) {
		t.Errorf("identity_clash = %+v; want boot_ids [43 42]", ic)
	}
}

func TestMergeReports(t *testing.T) {
	obs := func(op Opinion, connected bool) *pb.PeerObservation {
		return &pb.PeerObservation{NodeId: "x", Reachability: pb.Reachability(op), Connected: connected}
	}
	cases := []struct {
		name string
		a, b *pb.PeerObservation
		want *pb.PeerObservation
	}{
		{"only the older holds it", nil, obs(OpinionSuspect, false), obs(OpinionSuspect, false)},
		{"only the newest holds it", obs(OpinionReachable, true), nil, obs(OpinionReachable, true)},
		{"an opinion beats none", obs(OpinionNone, false), obs(OpinionSuspect, false), obs(OpinionSuspect, false)},
		{"none does not erase one", obs(OpinionReachable, true), obs(OpinionNone, false), obs(OpinionReachable, true)},
		{"disagreement abstains", obs(OpinionSuspect, false), obs(OpinionReachable, true), obs(OpinionNone, false)},
		{"disagreement abstains both ways", obs(OpinionReachable, true), obs(OpinionSuspect, false), obs(OpinionNone, false)},
		{"agreement keeps the connected one", obs(OpinionReachable, false), obs(OpinionReachable, true), obs(OpinionReachable, true)},
		{"agreement keeps the newest on a tie", obs(OpinionSuspect, true), obs(OpinionSuspect, false), obs(OpinionSuspect, true)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := map[string]*pb.PeerObservation{}, map[string]*pb.PeerObservation{}
			if c.a != nil {
				a["x"] = c.a
			}
			if c.b != nil {
				b["x"] = c.b
			}
			got := mergeReports(a, b)["x"]
			if got.GetReachability() != c.want.GetReachability() || got.GetConnected() != c.want.GetConnected() || got.GetNodeId() != "x" {
				t.Errorf("mergeReports(%v, %v) = %v; want %v", c.a, c.b, got, c.want)
			}
		})
	}
}
