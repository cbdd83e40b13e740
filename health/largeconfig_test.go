package health

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// TestEngineLargeConfigMostlyAbsent: in a 1,000-member config of which
// three members run, the view lists every member but only the links
// something is known of, and this node's report lists only the members
// it has heard or is connected to. Both were N² links and N entries (a
// 999,000-link view rebuilt every second, and 999-entry reports).
func TestEngineLargeConfigMostlyAbsent(t *testing.T) {
	const n = 1000
	members := make([]string, n)
	members[0], members[1], members[2] = "a", "b", "c"
	for i := 3; i < n; i++ {
		members[i] = fmt.Sprintf("absent-%04d", i)
	}
	clock := newFakeClock(t0)
	d := newDriver(t, clock, members...)
	running := pb.State_STATE_RUNNING
	for _, m := range []string{"b", "c"} {
		d.msg(heartbeatMsg(m, running, 0))
		d.link(m, p2p.Link{Connected: true})
		d.ping(m, 2*time.Millisecond)
	}
	d.msg(reportMsg("b", map[string]Opinion{"a": OpinionReachable, "c": OpinionReachable}))
	d.msg(reportMsg("c", map[string]Opinion{"a": OpinionReachable, "b": OpinionReachable}))

	v := d.s.e.View()
	if len(v.Nodes) != n {
		t.Fatalf("view has %d nodes; want %d", len(v.Nodes), n)
	}
	for _, id := range []string{"a", "b", "c"} {
		if got := v.Nodes[id].Status; got != StatusOnline {
			t.Errorf("view of %s = %s; want online", id, got)
		}
	}
	for _, id := range members[3:] {
		if nv := v.Nodes[id]; nv.Status != StatusUnknown || nv.LastHeardMs != -1 || len(nv.Observers) != 0 {
			t.Fatalf("view of absent %s = %s, last heard %d ms, %d observers; want unknown, never heard, none",
				id, nv.Status, nv.LastHeardMs, len(nv.Observers))
		}
	}
	// The six links among a, b and c are up; no other link is known.
	if len(v.Connections) != 6 {
		t.Errorf("view lists %d links; want the 6 among the running members", len(v.Connections))
	}
	for _, c := range v.Connections {
		if c.Status != "up" {
			t.Errorf("link %+v; want up", c)
		}
	}
	d.s.send(d.s.report())
	r := d.lastReport()
	got := reportOpinions(r)
	if len(got) != 2 || got["b"] != OpinionReachable || got["c"] != OpinionReachable {
		t.Errorf("a's report = %v; want b and c reachable and no entry for the absent members", got)
	}
}
