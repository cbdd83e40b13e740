//go:build linux

package chaos

import (
	"syscall"
	"testing"
	"time"
)

// The pause scenarios run 5 nodes on loopback with the default timing
// (heartbeat 1s, suspect_after 3s), every node with the same generic
// webhook: one notification cluster, whose leader posts to the sink.
const pauseNodes = 5

// Scenario lengths (issue 12).
const (
	pauseFor   = 10 * time.Second // a and b: one member stopped
	afterPause = 10 * time.Second // watched after it is back everywhere
	outageFor  = 8 * time.Second  // d: longer than suspect_after
)

// pauseCluster starts the sink and the cluster, waits for it to settle
// with one leader, starts the recorder, and returns them with the
// leader's index.
func pauseCluster(t *testing.T) (*cluster, *sink, *recorder, int) {
	t.Helper()
	s, hook := loopbackSink(t)
	c := loopbackCluster(t, pauseNodes, hook, "", "")
	c.waitAllOnline(converge)
	leader := c.waitLeader(settle)
	t.Logf("alert leader: %s", c.procs[leader].name)
	r := record(c)
	r.waitSampled(settle)
	return c, s, r, leader
}

// pauseOne stops member v for pauseFor, continues it, waits until every
// node shows it online again, watches afterPause more, and checks: no
// member but v leaves online at any observer (v's own view of the others
// included), no status event about another member, and no alert but
// about v, none twice.
func pauseOne(t *testing.T, c *cluster, s *sink, r *recorder, v int) {
	t.Helper()
	name := c.procs[v].name
	t1 := time.Now()
	t.Logf("SIGSTOP %s for %s", name, pauseFor)
	c.signal(syscall.SIGSTOP, v)
	hold(pauseFor)
	c.signal(syscall.SIGCONT, v)
	t.Logf("SIGCONT %s", name)
	c.waitFor(settle, name+" online again at every node", c.statusIs(c.all(), []int{v}, "online"))
	hold(afterPause)
	r.check(s, verdict{from: t1, to: time.Now(), ok: only(name),
		alertsOK: func(a alertRec) bool { return a.Node == name }})
}

// TestPauseMember is scenario a: SIGSTOP one member (not the alert leader)
// for 10 s, then SIGCONT. The others may see it go offline (it was down),
// but no other member may leave online anywhere, including at the resumed
// node, which must not publish the suspicions it formed in its sleep
// (issue 12, item 1: local health awareness).
func TestPauseMember(t *testing.T) {
	t.Parallel()
	c, s, r, leader := pauseCluster(t)
	pauseOne(t, c, s, r, (leader+1)%pauseNodes)
}

// TestPauseLeader is scenario b: the same for the elected alert leader.
// While it sleeps another member leads and may report it offline; once
// back it must re-sync before it sends anything, so no alert about the
// others either.
func TestPauseLeader(t *testing.T) {
	t.Parallel()
	c, s, r, leader := pauseCluster(t)
	pauseOne(t, c, s, r, leader)
}

// TestStarvation is scenario c, host-wide starvation: every node is
// stopped together in bursts, each stop shorter than suspect_after (by
// default 6 bursts of 2.5 s stopped, 1 s running), as on a VM starved of
// CPU. (With 2.0 s stops today's binary passed once here: a heartbeat is
// then at most 3 s old at the resume, just within suspect_after; 2.5 s
// stops make every node's silence-based suspicions fire together.)
// Nobody was down for suspect_after, so: no member leaves online at any
// observer, no status event, no alert.
// MESHMON_CHAOS_BURSTS, MESHMON_CHAOS_BURST_STOP and MESHMON_CHAOS_BURST_RUN
// change the bursts.
func TestStarvation(t *testing.T) {
	t.Parallel()
	c, s, r, _ := pauseCluster(t)
	t1 := time.Now()
	starve(t, c, envInt(t, "MESHMON_CHAOS_BURSTS", 6),
		envDuration(t, "MESHMON_CHAOS_BURST_STOP", 2500*time.Millisecond),
		envDuration(t, "MESHMON_CHAOS_BURST_RUN", time.Second))
	hold(afterPause)
	r.check(s, verdict{from: t1, to: time.Now(), ok: nobody})
}

// starve stops every node of c together, bursts times, for stop each time,
// letting them run for run in between.
func starve(t testing.TB, c *cluster, bursts int, stop, run time.Duration) {
	t.Helper()
	t.Logf("starving every node: %d × (%s stopped, %s running)", bursts, stop, run)
	all := c.all()
	for b := range bursts {
		c.signal(syscall.SIGSTOP, all...)
		hold(stop)
		c.signal(syscall.SIGCONT, all...)
		if b < bursts-1 {
			hold(run)
		}
	}
}

// TestTrueOutage is scenario d: one member stopped for 8 s, longer than
// suspect_after, is a true alarm. Every other node shows it offline while
// it is stopped, and the leader posts exactly one offline alert about it;
// once continued it is online everywhere again and exactly one recovery
// (online) alert follows. Nothing else leaves online, nothing else is
// alerted.
func TestTrueOutage(t *testing.T) {
	t.Parallel()
	c, s, r, leader := pauseCluster(t)
	v := (leader + 1) % pauseNodes
	name := c.procs[v].name
	others := except(c.all(), v)
	t1 := time.Now()
	t.Logf("SIGSTOP %s for %s", name, outageFor)
	c.signal(syscall.SIGSTOP, v)
	c.waitFor(outageFor, name+" offline at every other node while stopped", c.statusIs(others, []int{v}, "offline"))
	hold(time.Until(t1.Add(outageFor)))
	c.signal(syscall.SIGCONT, v)
	t.Logf("SIGCONT %s", name)
	c.waitFor(settle, name+" online again at every node", c.statusIs(c.all(), []int{v}, "online"))
	c.waitFor(settle, "the offline and the recovery alert posted", func() (bool, string) {
		n := alertCounts(s.between(t1, time.Now()))
		return n[name+" offline"] >= 1 && n[name+" online"] >= 1, "alerts so far: " + fmtCounts(n)
	})
	hold(afterPause)
	t2 := time.Now()
	r.check(s, verdict{from: t1, to: t2, ok: only(name), alertsOK: func(a alertRec) bool {
		return a.Node == name && (a.Kind == "offline" || a.Kind == "online")
	}})
	if n := alertCounts(s.between(t1, t2)); n[name+" offline"] != 1 || n[name+" online"] != 1 {
		t.Errorf("alerts about %s: %s; want exactly one offline and one online", name, fmtCounts(n))
	}
}

// except returns idx without x.
func except(idx []int, x int) []int {
	var out []int
	for _, i := range idx {
		if i != x {
			out = append(out, i)
		}
	}
	return out
}
