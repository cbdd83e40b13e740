//go:build linux

package chaos

import (
	"fmt"
	"testing"
	"time"
)

// linkNodes is how many nodes the link scenarios run.
const linkNodes = 5

// Scenario lengths (issue 12).
const (
	cutFor       = 20 * time.Second // f: one node's port down
	lossForShort = 30 * time.Second // e in make test; 60 s in the soak
	afterLink    = 5 * time.Second  // watched after the impairment ends
	restoreMax   = 5 * time.Second  // f: online again after the restore
)

// linkCluster builds the switched namespaces, starts a node in each and
// the recorder, and waits for the cluster to settle with one leader.
func linkCluster(t *testing.T, name string) (*switched, *cluster, *sink, *recorder) {
	t.Helper()
	needLab(t)
	l := newLab(t, name)
	var names []string
	for i := range linkNodes {
		names = append(names, fmt.Sprintf("n%02d", i+1))
	}
	s := switchedNet(t, l, names)
	sk := newSink(t)
	c := switchedCluster(t, s, sk)
	c.waitAllOnline(converge)
	leader := c.waitLeader(settle)
	t.Logf("alert leader: %s", c.procs[leader].name)
	r := record(c)
	r.waitSampled(settle)
	t.Cleanup(func() { s.logSwitch(t) })
	return s, c, sk, r
}

// TestLoss is scenario e: 15 % loss and 100 ± 50 ms delay on every port
// (each node's traffic, as netem on every node's link would do) for 30 s
// (MESHMON_CHAOS_LOSS_FOR; the soak runs 60 s): a lossy, slow network is
// not a dead one, so no member leaves online anywhere and no alert is
// sent.
func TestLoss(t *testing.T) {
	t.Parallel()
	s, _, sk, r := linkCluster(t, "loss")
	imp := impairment{Loss: 0.15, Delay: 100 * time.Millisecond, Jitter: 50 * time.Millisecond}
	d := envDuration(t, "MESHMON_CHAOS_LOSS_FOR", lossForShort)
	t1 := time.Now()
	t.Logf("every port: %s for %s", imp, d)
	s.sw.setAll(imp)
	hold(d)
	s.sw.setAll(impairment{})
	hold(afterLink)
	r.check(sk, verdict{from: t1, to: time.Now(), ok: nobody})
}

// TestLinkCut is scenario f: one node's port is down for 20 s, then up.
// Every other node shows it offline during the cut and online again after
// it; the others stay online at each other; the leader sends one offline
// and one online alert about it. The time from the restore until every
// node shows it online is logged (issue 12's target: under 2 s) and must
// be at most MESHMON_CHAOS_RESTORE_MAX (default 5 s: the target plus room
// for a busy two-core machine; set 2s to hold the target exactly).
func TestLinkCut(t *testing.T) {
	t.Parallel()
	s, c, sk, r := linkCluster(t, "cut")
	leader := c.waitLeader(settle)
	v := (leader + 1) % linkNodes
	name := c.procs[v].name
	others := except(c.all(), v)
	t1 := time.Now()
	t.Logf("port of %s down for %s", name, cutFor)
	s.sw.set(v, impairment{Down: true})
	c.waitFor(cutFor, name+" offline at every other node during the cut", c.statusIs(others, []int{v}, "offline"))
	hold(awaitTime(t1.Add(cutFor)))
	s.sw.set(v, impairment{})
	t.Logf("port of %s up", name)
	took := c.waitFor(settle, name+" online again at every node after the restore", c.statusIs(c.all(), []int{v}, "online"))
	t.Logf("RESULT link restore: %s online at every node %.2fs after its port came up (target < 2 s)", name, took.Seconds())
	if limit := envDuration(t, "MESHMON_CHAOS_RESTORE_MAX", restoreMax); took > limit {
		t.Errorf("restore took %s; MESHMON_CHAOS_RESTORE_MAX is %s", took, limit)
	}
	c.waitFor(settle, "every node sees every node online", c.statusIs(c.all(), c.all(), "online"))
	hold(afterLink)
	// The cut node sees the others go: it is cut off, and its view of
	// them is its own, unconfirmed. Everyone else must keep the others
	// online.
	ok := func(observer, member string) bool { return member == name || observer == name }
	r.check(sk, verdict{from: t1, to: time.Now(), ok: ok, alertsOK: func(a alertRec) bool {
		return a.Node == name && (a.Kind == "offline" || a.Kind == "online")
	}})
}
